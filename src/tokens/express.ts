/**
 * Express (and plain `node:http`) helpers for `tessera/tokens`: a guard that admits requests
 * with a live access token, and the refresh endpoint.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rawHeaderValues } from '../adapters/express/binding.js';
import { TesseraError } from '../core/errors.js';
import { readTokenHeader } from '../core/transport.js';
import type { AccessGrant, TokenRequest, Tokens } from './tokens.js';

type Next = (error?: unknown) => void;

/** What {@link requireAccessToken} puts on `req.tessera`: the grant, and the step-up checks. */
export interface AccessSession extends AccessGrant {
  /** Whether the user signed in within the last `maxAge` ms. */
  isFresh(maxAge: number): boolean;
  /** @throws TesseraError `NOT_FRESH` (403) when the sign-in is older than `maxAge` ms. */
  requireFresh(maxAge: number): void;
}

/** The largest refresh request body read, in bytes. */
const MAX_BODY_BYTES = 4096;

/**
 * Admit a request only with a live access token in `Authorization: Bearer`; it sets
 * `req.tessera` to an {@link AccessSession} (user, family id, `requireFresh`). Otherwise it
 * passes `NOT_AUTHENTICATED` (401) to `next`, with `WWW-Authenticate: Bearer` (RFC 6750 §3).
 * Every use reads the store, so a revoked family is refused at its next request.
 * Mount it instead of the session middleware on API routes (it replaces `req.tessera`).
 * @example app.get('/api/me', requireAccessToken(tokens), (req, res) => res.json({ user: req.tessera.userId }))
 */
export function requireAccessToken(tokens: Tokens) {
  return (req: IncomingMessage, res: ServerResponse, next: Next): void => {
    const found = readTokenHeader(rawHeaderValues(req, 'authorization'), 'authorization');
    const token = found.kind === 'present' ? found.value.slice('s:'.length) : undefined;
    const refuse = (error: string | undefined): void => {
      res.setHeader('WWW-Authenticate', error === undefined ? 'Bearer' : `Bearer error="${error}"`);
      next(new TesseraError('NOT_AUTHENTICATED', 'A valid access token is required'));
    };
    if (token === undefined) return refuse(found.kind === 'absent' ? undefined : 'invalid_request');
    tokens.verifyAccess(token, requestOf(req)).then(
      (grant) => {
        if (grant === null) return refuse('invalid_token');
        Object.defineProperty(req, 'tessera', { value: accessSession(grant, tokens), writable: true, configurable: true, enumerable: true });
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
    bodyOf(req).then(
      async (body) => {
        const given = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['refreshToken'] : undefined;
        const result = await tokens.refresh(given, requestOf(req));
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        if (!result.ok) {
          res.statusCode = 401;
          res.end(JSON.stringify({ error: 'invalid_grant', reason: result.reason }));
          return;
        }
        const { pair } = result;
        const expiresIn = Math.max(0, Math.floor((pair.accessExpiresAt - tokens.options.now()) / 1000));
        res.statusCode = 200;
        res.end(JSON.stringify({ ...pair, tokenType: 'Bearer', expiresIn }));
      },
      (error: unknown) => next(error),
    ).catch((error: unknown) => next(error));
  };
}

function accessSession(grant: AccessGrant, tokens: Tokens): AccessSession {
  const isFresh = (maxAge: number): boolean => tokens.options.now() - grant.authenticatedAt <= maxAge;
  return {
    ...grant,
    isFresh,
    requireFresh(maxAge) {
      if (!isFresh(maxAge)) throw new TesseraError('NOT_FRESH', 'Recent sign-in required');
    },
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
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
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
