/**
 * Express (and plain `node:http`) helpers for `tessera/tokens`: a guard that admits requests
 * with a live access token, and the refresh endpoint.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rawHeaderValues } from '../adapters/node-headers.js';
import { checkBearer, MAX_REFRESH_BODY_BYTES, parseJson, REFRESH_HEADERS, refreshReply } from './guard.js';
import type { TokenRequest, Tokens } from './tokens.js';

type Next = (error?: unknown) => void;

export type { AccessSession } from './guard.js';

/**
 * Admit a request only with a live access token in `Authorization: Bearer`; it sets
 * `req.tessera` to an {@link AccessSession} (user, family id, `requireFresh`). Otherwise it
 * passes `NOT_AUTHENTICATED` (401) to `next`, with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 * Opaque tokens read the store on every use, so a revoked family is refused at its next
 * request; `'jwt'` ones verify without it.
 * Mount it instead of the session middleware on API routes (it replaces `req.tessera`).
 * @example app.get('/api/me', requireAccessToken(tokens), (req, res) => res.json({ user: req.tessera.userId }))
 */
export function requireAccessToken(tokens: Tokens) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    checkBearer(tokens, rawHeaderValues(req, 'authorization'), requestOf(req)).then(
      (check) => {
        if (!check.ok) {
          res.setHeader('WWW-Authenticate', check.wwwAuthenticate);
          return next(check.error);
        }
        Object.defineProperty(req, 'tessera', { value: check.session, writable: true, configurable: true, enumerable: true });
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

/**
 * The refresh endpoint: `app.post('/api/token/refresh', refreshEndpoint(tokens))`. Takes
 * `{ "refreshToken": "..." }` as JSON (parsed by `express.json()` or read here, at most 4 KiB)
 * and answers `200 { accessToken, refreshToken, tokenType: 'Bearer', expiresIn, accessExpiresAt,
 * refreshExpiresAt }` (`expiresIn` in seconds, times in ms since epoch), or
 * `401 { error: 'invalid_grant', reason }` with `reason` one of `invalid`, `unknown`, `expired`,
 * `reuse_detected`. Both with `Cache-Control: no-store` (RFC 6749 §5.1). A store failure goes to
 * `next` (503).
 */
export function refreshEndpoint(tokens: Tokens) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    bodyOf(req)
      .then(async (body) => {
        const reply = await refreshReply(tokens, body, requestOf(req));
        for (const [name, value] of Object.entries(REFRESH_HEADERS)) res.setHeader(name, value);
        res.statusCode = reply.status;
        res.end(JSON.stringify(reply.body));
      })
      .catch((error: unknown) => next(error));
  };
}

/** The parsed body (`express.json()` ran), or the JSON read here; `undefined` for anything else. */
async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const parsed = (req as { body?: unknown }).body;
  if (parsed !== undefined) return parsed;
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even when too large, so the response still goes out on this connection.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_REFRESH_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_REFRESH_BODY_BYTES ? undefined : parseJson(Buffer.concat(chunks).toString('utf8'));
}

function requestOf(req: IncomingMessage): TokenRequest {
  const ua = req.headers['user-agent'];
  return {
    ip: (req as { ip?: string }).ip ?? req.socket.remoteAddress,
    userAgent: typeof ua === 'string' ? ua : undefined,
    method: req.method,
    path: (req.url ?? '/').split('?')[0],
  };
}
