/**
 * What the token helpers of every framework share: reading the bearer token and deciding on
 * it, and the refresh endpoint's answer. The Express, Fastify and Web helpers only move these
 * in and out of their request and response objects.
 * @module
 */
import { TesseraError } from '../core/errors.js';
import { readTokenHeader } from '../core/transport.js';
import { MAX_JWT_LENGTH } from './jwt.js';
import type { AccessGrant, TokenRequest, Tokens } from './tokens.js';

/** What the `requireAccessToken` helpers put on the request: the grant, and the step-up checks. */
export interface AccessSession extends AccessGrant {
  /** Whether the user signed in within the last `maxAge` ms. */
  isFresh(maxAge: number): boolean;
  /** @throws TesseraError `NOT_FRESH` (403) when the sign-in is older than `maxAge` ms. */
  requireFresh(maxAge: number): void;
}

/** The outcome of a bearer check: the session, or the `WWW-Authenticate` value of the 401 (RFC 6750 §3). */
export type BearerCheck = { ok: true; session: AccessSession } | { ok: false; wwwAuthenticate: string; error: TesseraError };

/** The refresh endpoint's answer: a status and a JSON body, sent with {@link REFRESH_HEADERS}. */
export interface RefreshReply {
  status: 200 | 401;
  body: Record<string, unknown>;
}

/** Headers of every refresh answer: tokens are never cached (RFC 6749 §5.1). */
export const REFRESH_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  'Content-Type': 'application/json; charset=utf-8',
});

/** The largest refresh request body read, in bytes. */
export const MAX_REFRESH_BODY_BYTES = 4096;

/**
 * Check the `Authorization` header values of a request: a live access token gives its
 * session; anything else (none, another scheme, two headers, a bad or expired token) a 401.
 * @throws TesseraError `STORE_UNAVAILABLE` (opaque tokens read the store).
 */
export async function checkBearer(tokens: Tokens, authorization: string | readonly string[] | undefined, request: TokenRequest): Promise<BearerCheck> {
  // Room for a JWT access token, the longest kind (`Bearer ` and the token).
  const found = readTokenHeader(authorization, 'authorization', 'Bearer '.length + MAX_JWT_LENGTH);
  if (found.kind !== 'present') return refused(found.kind === 'absent' ? undefined : 'invalid_request');
  // The header reader hands values back as the cookie reader does, `s:` in front.
  const grant = await tokens.verifyAccess(found.value.slice('s:'.length), request);
  return grant === null ? refused('invalid_token') : { ok: true, session: accessSession(grant, tokens) };
}

/**
 * The refresh endpoint's answer for a parsed request body: `200 { accessToken, refreshToken,
 * tokenType: 'Bearer', expiresIn, accessExpiresAt, refreshExpiresAt }` (`expiresIn` in seconds)
 * or `401 { error: 'invalid_grant', reason }`.
 * @throws TesseraError `STORE_UNAVAILABLE`.
 */
export async function refreshReply(tokens: Tokens, body: unknown, request: TokenRequest): Promise<RefreshReply> {
  const given = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['refreshToken'] : undefined;
  const result = await tokens.refresh(given, request);
  if (!result.ok) return { status: 401, body: { error: 'invalid_grant', reason: result.reason } };
  const { pair } = result;
  const expiresIn = Math.max(0, Math.floor((pair.accessExpiresAt - tokens.options.now()) / 1000));
  return { status: 200, body: { ...pair, tokenType: 'Bearer', expiresIn } };
}

/** A JSON body, or `undefined` for one that is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function refused(error: 'invalid_request' | 'invalid_token' | undefined): BearerCheck {
  return {
    ok: false,
    wwwAuthenticate: error === undefined ? 'Bearer' : `Bearer error="${error}"`,
    error: new TesseraError('NOT_AUTHENTICATED', 'A valid access token is required'),
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
