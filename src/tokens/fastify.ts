/**
 * Fastify helpers for `tessera/tokens`: a `preHandler` hook that admits requests with a live
 * access token, and the refresh route handler. A refused token is a 401 through Fastify's error
 * handler (the error's `statusCode`), as the session plugin's errors are.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { rawHeaderValues } from '../adapters/node-headers.js';
import { checkBearer, REFRESH_HEADERS, refreshReply, type AccessSession } from './guard.js';
import type { TokenRequest, Tokens } from './tokens.js';

/**
 * What these helpers use of a Fastify request (Fastify's `FastifyRequest` has it all): written
 * out here so that `tessera/tokens` does not make Fastify's types a dependency of every app.
 */
export interface FastifyRequestLike {
  raw: IncomingMessage;
  headers: IncomingHttpHeaders;
  ip: string;
  method: string;
  url: string;
  body?: unknown;
}

/** What these helpers use of a Fastify reply (`FastifyReply`). */
export interface FastifyReplyLike {
  header(name: string, value: string): unknown;
  code(statusCode: number): { headers(values: Record<string, string>): unknown };
}

/** A Fastify request behind {@link fastifyRequireAccessToken}. */
export interface AccessTokenRequest {
  /** The access token's session, set by the hook. */
  accessToken: AccessSession;
}

/**
 * A `preHandler` hook: `{ preHandler: fastifyRequireAccessToken(tokens) }`. With a live access
 * token in `Authorization: Bearer` it sets `request.accessToken` (an {@link AccessSession});
 * otherwise it throws `NOT_AUTHENTICATED` (401) with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 * A duplicated `Authorization` header is refused.
 * @example fastify.get('/api/me', { preHandler: fastifyRequireAccessToken(tokens) }, (request) => ({ user: (request as FastifyRequest & AccessTokenRequest).accessToken.userId }))
 */
export function fastifyRequireAccessToken(tokens: Tokens) {
  return async (request: FastifyRequestLike, reply: FastifyReplyLike): Promise<void> => {
    // From rawHeaders: Node keeps only the first Authorization line, and a duplicate must be refused.
    const check = await checkBearer(tokens, rawHeaderValues(request.raw, 'authorization'), requestOf(request));
    if (!check.ok) {
      reply.header('WWW-Authenticate', check.wwwAuthenticate);
      throw check.error;
    }
    (request as FastifyRequestLike & AccessTokenRequest).accessToken = check.session;
  };
}

/**
 * The refresh route handler: `fastify.post('/api/token/refresh', fastifyRefreshEndpoint(tokens))`.
 * Takes `{ "refreshToken": "..." }` (Fastify's JSON body parser) and answers as the Express
 * `refreshEndpoint` does: `200` with a new pair or `401 { error: 'invalid_grant', reason }`,
 * both with `Cache-Control: no-store`. A store failure is thrown (503).
 */
export function fastifyRefreshEndpoint(tokens: Tokens) {
  return async (request: FastifyRequestLike, reply: FastifyReplyLike): Promise<Record<string, unknown>> => {
    const answer = await refreshReply(tokens, request.body, requestOf(request));
    reply.code(answer.status).headers({ ...REFRESH_HEADERS });
    return answer.body;
  };
}

function requestOf(request: FastifyRequestLike): TokenRequest {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : undefined, method: request.method, path: request.url.split('?')[0] };
}
