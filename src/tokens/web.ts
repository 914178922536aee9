/**
 * Web-standard (`Request` / `Response`) helpers for `tessera/tokens`, for Hono, Next.js route
 * handlers, Bun and Deno: a guard that admits requests with a live access token, and the
 * refresh endpoint. Errors other than a refused token (a store outage, 503) are thrown to the
 * caller, as `withSession` does without `onError`.
 * @module
 */
import { urlParts } from '../adapters/web/headers.js';
import { checkBearer, MAX_REFRESH_BODY_BYTES, parseJson, REFRESH_HEADERS, refreshReply, type AccessSession } from './guard.js';
import type { TokenRequest, Tokens } from './tokens.js';

/** What the server knows of a request that the `Request` does not say. */
export interface TokenRequestContext {
  /** The client's IP address, for events. */
  ip?: string | undefined;
}

/** A handler behind {@link withAccessToken}: it runs only with a live access token. */
export type AccessHandler<A extends unknown[]> = (request: Request, access: AccessSession, ...rest: A) => Response | Promise<Response>;

/**
 * The session of a request's `Authorization: Bearer` access token, or `null` when it has none
 * that is live. @throws TesseraError `STORE_UNAVAILABLE` (opaque tokens read the store).
 */
export async function verifyBearer(tokens: Tokens, request: Request, context: TokenRequestContext = {}): Promise<AccessSession | null> {
  const check = await checkBearer(tokens, request.headers.get('authorization') ?? undefined, requestOf(request, context));
  return check.ok ? check.session : null;
}

/**
 * Run `handler` only for a request with a live access token; answer anything else with
 * `401 { error: 'invalid_token' }` and `WWW-Authenticate: Bearer` (RFC 6750 §3). Extra
 * arguments (a Next.js route context, say) are passed through.
 * @example export const GET = withAccessToken(tokens, (request, access) => Response.json({ user: access.userId }));
 */
export function withAccessToken<A extends unknown[]>(tokens: Tokens, handler: AccessHandler<A>, context: (request: Request, ...rest: A) => TokenRequestContext = () => ({})) {
  return async (request: Request, ...rest: A): Promise<Response> => {
    const check = await checkBearer(tokens, request.headers.get('authorization') ?? undefined, requestOf(request, context(request, ...rest)));
    if (check.ok) return handler(request, check.session, ...rest);
    return Response.json({ error: 'invalid_token' }, { status: 401, headers: { 'WWW-Authenticate': check.wwwAuthenticate, 'Cache-Control': 'no-store' } });
  };
}

/**
 * The refresh endpoint: `export const POST = refreshHandler(tokens)`. Takes
 * `{ "refreshToken": "..." }` as JSON (at most 4 KiB) and answers as the Express
 * `refreshEndpoint` does: `200` with a new pair or `401 { error: 'invalid_grant', reason }`,
 * both with `Cache-Control: no-store`.
 * @throws TesseraError `STORE_UNAVAILABLE`.
 */
export function refreshHandler(tokens: Tokens, context: (request: Request) => TokenRequestContext = () => ({})) {
  return async (request: Request): Promise<Response> => {
    const reply = await refreshReply(tokens, await bodyOf(request), requestOf(request, context(request)));
    return new Response(JSON.stringify(reply.body), { status: reply.status, headers: REFRESH_HEADERS });
  };
}

/** The JSON body, read up to {@link MAX_REFRESH_BODY_BYTES}; `undefined` for anything else. */
async function bodyOf(request: Request): Promise<unknown> {
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '') || request.body === null) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REFRESH_BODY_BYTES) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return parseJson(new TextDecoder().decode(bytes));
}

function requestOf(request: Request, context: TokenRequestContext): TokenRequest {
  return { ip: context.ip, userAgent: request.headers.get('user-agent') ?? undefined, method: request.method, path: urlParts(request.url).path };
}
