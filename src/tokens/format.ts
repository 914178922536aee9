/**
 * The two token formats of `tessera/tokens`, signed with keys the key ring derives for these
 * purposes only (HKDF, `./keyring.js`), so neither can pass for the other nor for a session
 * cookie. Clients treat both as opaque strings.
 *
 * - Refresh token: `tr1.<sid>.<token>.<keyId>.<mac>`: the family id and its current bearer
 *   token, as a session cookie holds them (the family rotates with the session protocol).
 * - Access token: `ta1.<sid>.<exp>.<ref>.<keyId>.<mac>`: the family id, its expiry (ms since
 *   epoch, base 36), and `ref`, a keyed hash of the hash of the refresh token it was issued
 *   with, so the store can tell whether that refresh token is still one of the family's. It
 *   holds no secret of its own: the store decides, on every use.
 *
 * `mac` is HMAC-SHA256 of everything before it, base64url, compared in constant time.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../core/keyring.js';
import { isSessionIdShaped, isTokenShaped, type Identity } from '../core/token.js';

const REFRESH_PURPOSE = 'tessera/refresh-token';
const ACCESS_PURPOSE = 'tessera/access-token';
/** Tokens longer than this (characters) are refused before any crypto. */
const MAX_TOKEN_LENGTH = 512;
const KEY_ID = /^[A-Za-z0-9_-]{1,16}$/;
const EXPIRY = /^[0-9a-z]{1,12}$/;
const REF = /^[A-Za-z0-9_-]{22}$/;

/** A verified access token's claims. */
export interface AccessClaims {
  /** The family's session id. */
  sid: string;
  /** When the token stops working (ms since epoch). */
  expiresAt: number;
  /** Keyed reference of the refresh token hash it was issued with. */
  ref: string;
  /** The key ring id it was signed under (its `ref` too). */
  keyId: string;
}

/** The refresh token of a family identity, signed with the ring's first key. */
export function formatRefresh(ring: KeyRing, identity: Identity): string {
  return sign(ring, REFRESH_PURPOSE, `tr1.${identity.sid}.${identity.token}`);
}

/** The identity a refresh token carries, or `undefined` when it is not one we signed with a key still in the ring. Never throws. */
export function parseRefresh(ring: KeyRing, value: unknown): Identity | undefined {
  const parts = verified(ring, REFRESH_PURPOSE, value, 'tr1', 5);
  if (parts === undefined) return undefined;
  const [, sid, token] = parts as [string, string, string];
  return isSessionIdShaped(sid) && sid.length === 22 && isTokenShaped(token) ? { sid, token } : undefined;
}

/** The access token issued with the refresh token whose hash is `refreshHash`, valid until `expiresAt`. */
export function formatAccess(ring: KeyRing, sid: string, refreshHash: string, expiresAt: number): string {
  return sign(ring, ACCESS_PURPOSE, `ta1.${sid}.${Math.floor(expiresAt).toString(36)}.${accessRef(ring, ring.signingKeyId, refreshHash)!}`);
}

/** The claims of an access token we signed with a key still in the ring, or `undefined`. Never throws. */
export function parseAccess(ring: KeyRing, value: unknown): AccessClaims | undefined {
  const parts = verified(ring, ACCESS_PURPOSE, value, 'ta1', 6);
  if (parts === undefined) return undefined;
  const [, sid, exp, ref, keyId] = parts as [string, string, string, string, string];
  if (!(isSessionIdShaped(sid) && sid.length === 22 && EXPIRY.test(exp) && REF.test(ref))) return undefined;
  return { sid, expiresAt: parseInt(exp, 36), ref, keyId };
}

/**
 * The reference an access token keeps of a refresh token's hash: a keyed hash under the
 * access key of `keyId` (22 characters), never the store's own value, so an access token and
 * a store dump cannot be matched up. `undefined` for a key no longer in the ring.
 */
export function accessRef(ring: KeyRing, keyId: string, refreshHash: string): string | undefined {
  const key = ring.derive(keyId, ACCESS_PURPOSE);
  if (key === undefined) return undefined;
  return createHmac('sha256', key).update('ref\0').update(refreshHash).digest('base64url').slice(0, 22);
}

function sign(ring: KeyRing, purpose: string, payload: string): string {
  const keyId = ring.signingKeyId;
  const body = `${payload}.${keyId}`;
  return `${body}.${mac(ring.derive(keyId, purpose)!, body)}`;
}

/**
 * The parts of a token of this prefix and `total` parts (`<prefix>....<keyId>.<mac>`) whose
 * MAC a key of the ring verifies, without the MAC (the key id last).
 */
function verified(ring: KeyRing, purpose: string, value: unknown, prefix: string, total: number): string[] | undefined {
  if (typeof value !== 'string' || value.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = value.split('.');
  if (parts.length !== total || parts[0] !== prefix) return undefined;
  const keyId = parts[total - 2]!;
  if (!KEY_ID.test(keyId)) return undefined;
  const key = ring.derive(keyId, purpose);
  if (key === undefined) return undefined;
  const body = parts.slice(0, total - 1);
  const expected = Buffer.from(mac(key, body.join('.')));
  const given = Buffer.from(parts[total - 1]!);
  return given.length === expected.length && timingSafeEqual(given, expected) ? body : undefined;
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}
