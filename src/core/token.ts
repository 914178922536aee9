/**
 * Session identities: a session id and a token, and the key a session is stored under.
 *
 * A session has a stable **id** (16 bytes, 128 bits) and a **token** (32 bytes, 256 bits), both
 * from the operating system's CSPRNG and base64url-encoded (OWASP: at least 64 bits of
 * entropy; ASVS 5.0 V7.2.3: at least 128). The cookie carries both, signed. The token is the
 * bearer secret and changes on every rotation; the id stays for the session's life, so the
 * store key stays too.
 *
 * The store keeps a session under its id, and only `base64url(SHA-256(token))` inside the
 * record: the id is not a credential (a cookie needs the current token too), so a leaked store
 * dump cannot be replayed as a cookie.
 * @module
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';

/** Length of a token in bytes. */
export const TOKEN_BYTES = 32;
/** Length of a base64url-encoded token in characters (32 bytes, no padding). */
export const TOKEN_LENGTH = 43;
/** Length of a session id in bytes. */
export const SESSION_ID_BYTES = 16;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/**
 * A session id is 22 base64url characters; sessions made by tessera 0.1 use their first
 * token (43 characters) as their id, so their store key does not change when they upgrade.
 */
const SESSION_ID_PATTERN = /^(?:[A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{43})$/;

/** The identity of one session as the cookie carries it. */
export interface Identity {
  /** The stable session id (secret: it appears only in the cookie). */
  readonly sid: string;
  /** The current bearer token. */
  readonly token: string;
}

/** A new random session token: 256 bits, base64url. */
export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** A new session identity: a random id and a random token. */
export function newIdentity(): Identity {
  const bytes = randomBytes(SESSION_ID_BYTES + TOKEN_BYTES);
  return {
    sid: bytes.subarray(0, SESSION_ID_BYTES).toString('base64url'),
    token: bytes.subarray(SESSION_ID_BYTES).toString('base64url'),
  };
}

/** Whether a string has the exact shape of a token (43 base64url characters). */
export function isTokenShaped(value: string): boolean {
  return TOKEN_PATTERN.test(value);
}

/** Whether a string has the shape of a session id. */
export function isSessionIdShaped(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

/**
 * `crypto.hash` (Node 20.12 and later): one call, no Hash object, about three times faster than
 * `createHash` for a short input. Older Node 20 releases fall back to `createHash`.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'base64url') => string }).hash;

/** `base64url(SHA-256(text))`. */
export function sha256(text: string): string {
  return oneShotHash === undefined ? createHash('sha256').update(text).digest('base64url') : oneShotHash('sha256', text, 'base64url');
}

/**
 * The store key of a session: its id. It is also the session's public id (`req.sessionID`,
 * the `id` of session lists): safe to show and log, useless as a cookie without the token.
 *
 * Sessions made by tessera 0.1 have a 43-character id (their first token, which was a bearer
 * credential then) and stay where 0.1 stored them, under `base64url(SHA-256(id))`.
 */
export function storeKeyOf(sid: string): string {
  return sid.length === TOKEN_LENGTH ? sha256(sid) : sid;
}

/** What a record keeps of a token: `base64url(SHA-256(token))`. */
export function tokenHashOf(token: string): string {
  return sha256(token);
}
