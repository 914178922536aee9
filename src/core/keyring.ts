/**
 * The key ring that signs and verifies cookie values, and derives the keys of other purposes.
 * Internal: nothing outside the package can reach a ring, so an app can never mint a cookie.
 *
 * Secrets. A strong secret is at least 32 bytes and not obviously repetitive (see
 * {@link isWeakSecret}). A weak *first* secret (express-session apps and their tests use
 * `'keyboard cat'`) is accepted outside production with one warning, and refused under
 * `NODE_ENV=production` and for `encryptData`, whose key would be derived from it. Later weak
 * secrets are accepted only to verify express-session cookies, never tessera tokens.
 *
 * Cookie value, format 2: `s:<sid>.<token>.<keyId>.<signature>`, where the signature is
 * `HMAC-SHA256(secret, "<sid>.<token>.<keyId>")` in standard base64 without padding. That is
 * exactly how express-session (through `cookie-signature`) signs its `s:<sid>.<signature>`
 * values, so tools built for those (cookie-parser's `signedCookies`, code that reads the id after
 * `s:`) keep working with a drop-in; the three-part payload tells the two apart. Format 1
 * (tessera 0.1, `v1.<token>.<keyId>.<signature>`) is still verified: its token doubles as the
 * session id, so such a session keeps its store key. The first key signs; every key verifies; a
 * value verified by a key other than the first is reported so the response can re-sign it. A
 * key removed from the ring ("retired") makes its cookies invalid.
 *
 * It also verifies cookies signed by express-session (`s:<sid>.<signature>`, HMAC-SHA256 with
 * standard base64 minus padding, as the `cookie-signature` package writes them), so users who
 * switch keep their sessions.
 * @module
 */
import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { TesseraError } from './errors.js';
import { SESSION_ID_BYTES, isSessionIdShaped, isTokenShaped, type Identity } from './token.js';

/** Minimum secret length in bytes (UTF-8). 32 bytes = 256 bits, the HMAC-SHA256 key size. */
export const MIN_SECRET_BYTES = 32;

/** A secret with an explicit id. The id is written into cookies; keep it short and stable. */
export interface KeyDefinition {
  /** Key id: 1–16 characters of `[A-Za-z0-9_-]`. */
  id: string;
  /** The secret: at least 32 bytes. */
  secret: string | Buffer;
}

/** A secret, or several with the signing one first. */
export type SecretInput = string | Buffer | KeyDefinition | ReadonlyArray<string | Buffer | KeyDefinition>;

/** What {@link KeyRing.verify} tells about a cookie value. */
export type VerifiedValue =
  | {
      kind: 'token';
      identity: Identity;
      /** The id of the key that verified it. */
      keyId: string;
      /** Signed by a key other than the first: send it again signed by the first. */
      resign: boolean;
      /** 1 for a tessera 0.1 value (its token is also its id), 2 for the current format. */
      format: 1 | 2;
    }
  | { kind: 'legacy'; sid: string }
  | { kind: 'invalid'; reason: InvalidReason };

/** Why a cookie value was refused. */
export type InvalidReason = 'malformed' | 'unknown_key' | 'bad_signature';

interface Key {
  id: string;
  secret: Buffer;
  /** False for a weak secret after the first, kept only to verify express-session cookies. */
  verifiesTokens: boolean;
  /** A weak secret (see {@link isWeakSecret}). */
  weak: boolean;
  /** The secret as a string, for express-session compatible signatures. */
  legacySecret: string;
}

const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
/** Upper bound of a value worth parsing; anything longer is refused before any crypto. */
const MAX_VALUE_LENGTH = 512;
const ROTATION_PURPOSE = 'tessera/rotation';
const MIGRATION_PURPOSE = 'tessera/migration';

/** Signs and verifies cookie values with a ring of HMAC-SHA256 keys. */
export class KeyRing {
  readonly #keys: readonly Key[];
  readonly #byId: ReadonlyMap<string, Key>;
  readonly #derived = new Map<string, Buffer>();
  /** A key derived from the signing key for session references in events and logs. */
  readonly referenceKey: Buffer;
  /** Whether the signing secret is weak (accepted outside production only, with a warning). */
  readonly weak: boolean;

  /**
   * @param options.production whether weak signing secrets are refused. @default NODE_ENV is 'production'
   * @throws TesseraError `INVALID_OPTION` when a secret is missing or of the wrong type, ids
   * collide, or the first secret is weak in production.
   */
  constructor(input: SecretInput, options: { production?: boolean } = {}) {
    const list = Array.isArray(input) ? input : [input];
    if (list.length === 0) throw new TesseraError('INVALID_OPTION', 'secret: at least one secret is required');
    const production = options.production ?? process.env['NODE_ENV'] === 'production';
    const keys = list.map((item, index) => toKey(item as string | Buffer | KeyDefinition, index, production));
    const byId = new Map<string, Key>();
    for (const key of keys) {
      if (byId.has(key.id)) throw new TesseraError('INVALID_OPTION', `secret: duplicate key id "${key.id}"`);
      byId.set(key.id, key);
    }
    this.#keys = keys;
    this.#byId = byId;
    this.weak = keys[0]!.weak;
    this.referenceKey = createHmac('sha256', keys[0]!.secret).update('tessera/session-reference').digest();
  }

  /** The id of the signing key. */
  get signingKeyId(): string {
    return this.#keys[0]!.id;
  }

  /** The ids of the keys that verify tokens, the signing key first (retired weak ones left out). */
  verifyingKeyIds(): string[] {
    return this.#keys.filter((key) => key.verifiesTokens).map((key) => key.id);
  }

  /**
   * A 32-byte key derived (HKDF-SHA256) from the key with this id for one purpose, e.g.
   * `'tessera/data-encryption'`; `undefined` for an unknown or retired id.
   */
  derive(id: string, purpose: string): Buffer | undefined {
    const key = this.#byId.get(id);
    if (key === undefined || !key.verifiesTokens) return undefined;
    const cacheKey = `${id}\0${purpose}`;
    let derived = this.#derived.get(cacheKey);
    if (derived === undefined) {
      derived = Buffer.from(hkdfSync('sha256', key.secret, 'tessera', purpose, 32));
      this.#derived.set(cacheKey, derived);
    }
    return derived;
  }

  /** The cookie value of an identity, signed with the first key (format 2). */
  sign(identity: Identity): string {
    const key = this.#keys[0]!;
    const payload = `${identity.sid}.${identity.token}.${key.id}`;
    return `s:${payload}.${legacyMac(key.secret, payload)}`;
  }

  /**
   * The cookie value for a payload `<sid>.<token>.<keyId>` that cookie-parser unsigned with
   * `secret`, signed again (format 2) when `secret` is the secret of the key the payload names:
   * cookie-parser then checked the very signature this ring would. `undefined` otherwise.
   */
  signWithSecret(secret: string, payload: string): string | undefined {
    const parts = payload.split('.');
    if (parts.length !== 3 || !isSessionIdShaped(parts[0]!) || !isTokenShaped(parts[1]!)) return undefined;
    const key = this.#byId.get(parts[2]!);
    if (key === undefined || !key.verifiesTokens || key.legacySecret !== secret) return undefined;
    return `s:${payload}.${legacyMac(key.secret, payload)}`;
  }

  /**
   * The token a rotation of `identity` hands out: `HMAC(K, sid "." token)` under a key derived
   * from the key `keyId`. Deterministic, so every request (on any host) that presents the same
   * old token gets the same new one, and the store never holds it in the clear.
   * @returns `undefined` when `keyId` is no longer in the ring.
   */
  rotationToken(keyId: string, identity: Identity): string | undefined {
    const key = this.derive(keyId, ROTATION_PURPOSE);
    return key === undefined ? undefined : mac(key, `${identity.sid}.${identity.token}`);
  }

  /**
   * The identity of the tessera session an express-session session `legacySid` moves to:
   * keyed HMACs of the old id under a key derived from the signing key, so that every request
   * (on any host) showing the same old cookie moves it to the same session, never two, and
   * nobody without the key can tell the new token from the old id.
   */
  migrationIdentity(legacySid: string): Identity {
    const key = this.derive(this.signingKeyId, MIGRATION_PURPOSE)!;
    const sid = createHmac('sha256', key).update(`sid\0${legacySid}`).digest().subarray(0, SESSION_ID_BYTES).toString('base64url');
    return { sid, token: mac(key, `token\0${legacySid}`) };
  }

  /**
   * Verify a cookie value in constant time. Never throws: anything unexpected is `invalid`.
   * @param allowLegacy also accept express-session's `s:<sid>.<sig>` values.
   */
  verify(value: string, allowLegacy = false): VerifiedValue {
    if (value.length > MAX_VALUE_LENGTH) return { kind: 'invalid', reason: 'malformed' };
    if (value.startsWith('s:')) {
      // Ours: `<sid>.<token>.<keyId>.<signature>`. Anything else after `s:` is express-session's
      // `<sid>.<signature>` (its sid may hold dots, when an app's genid made it so).
      const parts = value.slice(2).split('.');
      if (parts.length === 4 && isSessionIdShaped(parts[0]!) && isTokenShaped(parts[1]!)) return this.#verifyToken(parts, 2);
      return allowLegacy ? this.#verifyLegacy(value.slice(2)) : { kind: 'invalid', reason: 'malformed' };
    }
    if (value.startsWith('v1.')) {
      const parts = value.split('.');
      if (parts.length === 4) return this.#verifyToken(parts, 1);
    }
    return { kind: 'invalid', reason: 'malformed' };
  }

  /** Format 2 parts `[sid, token, keyId, signature]`, or format 1 parts `['v1', token, keyId, signature]`. */
  #verifyToken(parts: string[], format: 1 | 2): VerifiedValue {
    const [first, second, keyId, signature] = parts as [string, string, string, string];
    const identity: Identity = format === 2 ? { sid: first, token: second } : { sid: second, token: second };
    if (!isSessionIdShaped(identity.sid) || !isTokenShaped(identity.token)) return { kind: 'invalid', reason: 'malformed' };
    const key = this.#byId.get(keyId);
    if (key === undefined || !key.verifiesTokens) return { kind: 'invalid', reason: 'unknown_key' };
    const payload = `${first}.${second}.${keyId}`;
    const expected = format === 2 ? legacyMac(key.secret, payload) : mac(key.secret, payload);
    if (!safeEqual(signature, expected)) return { kind: 'invalid', reason: 'bad_signature' };
    return { kind: 'token', identity, keyId, resign: format === 1 || key !== this.#keys[0], format };
  }

  /** express-session's format: `<sid>.<base64 HMAC-SHA256 without padding>`, any key verifies. */
  #verifyLegacy(signed: string): VerifiedValue {
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return { kind: 'invalid', reason: 'malformed' };
    const sid = signed.slice(0, dot);
    const signature = signed.slice(dot + 1);
    let valid = false;
    // Check every key (no early exit) so timing does not tell which key matched.
    for (const key of this.#keys) valid = safeEqual(signature, legacyMac(key.legacySecret, sid)) || valid;
    return valid ? { kind: 'legacy', sid } : { kind: 'invalid', reason: 'bad_signature' };
  }
}

function toKey(item: string | Buffer | KeyDefinition, index: number, production: boolean): Key {
  const def: KeyDefinition =
    typeof item === 'string' || Buffer.isBuffer(item) ? { id: derivedId(item), secret: item } : item;
  if (typeof def !== 'object' || def === null || (typeof def.secret !== 'string' && !Buffer.isBuffer(def.secret))) {
    throw new TesseraError('INVALID_OPTION', `secret[${index}]: expected a string, a Buffer or { id, secret }`);
  }
  if (typeof def.id !== 'string' || !KEY_ID_PATTERN.test(def.id)) {
    throw new TesseraError('INVALID_OPTION', `secret[${index}]: key id must be 1-16 characters of [A-Za-z0-9_-]`);
  }
  const secret = typeof def.secret === 'string' ? Buffer.from(def.secret, 'utf8') : Buffer.from(def.secret);
  if (secret.length === 0) throw new TesseraError('INVALID_OPTION', `secret[${index}]: must not be empty`);
  const weak = isWeakSecret(secret);
  if (weak && index === 0 && production) {
    throw new TesseraError('INVALID_OPTION', `secret[${index}]: ${weakness(secret)}, which NODE_ENV=production does not accept; ${GENERATE}`);
  }
  const legacySecret = typeof def.secret === 'string' ? def.secret : secret.toString('utf8');
  // In production a weak secret after the first is accepted for one purpose only: verifying
  // cookies that express-session signed with it, so that an app can migrate without logging
  // users out. Outside production it verifies like any other (as express-session's would).
  return { id: def.id, secret, legacySecret, verifiesTokens: index === 0 || !weak || !production, weak };
}

/** How to make a good secret, for error and warning messages. */
export const GENERATE = `generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;

/** Fewest bits of entropy (estimated from character frequencies) a strong secret has. */
const MIN_ESTIMATED_BITS = 100;

/**
 * Whether a secret is too weak to be trusted alone: shorter than 32 bytes, or so repetitive
 * that its estimated entropy (Shannon, from its byte frequencies, times its length) is under
 * 100 bits (32 × `'a'` has none; 32 random bytes have about 160 by this estimate).
 */
export function isWeakSecret(secret: Buffer): boolean {
  return secret.length < MIN_SECRET_BYTES || estimatedBits(secret) < MIN_ESTIMATED_BITS;
}

/** Why a weak secret is weak, in words. */
export function weakness(secret: Buffer): string {
  return secret.length < MIN_SECRET_BYTES
    ? `the secret is ${secret.length} bytes, fewer than the ${MIN_SECRET_BYTES} a strong one has`
    : `the secret is too repetitive to be secret (about ${Math.round(estimatedBits(secret))} bits of entropy, fewer than ${MIN_ESTIMATED_BITS})`;
}

function estimatedBits(secret: Buffer): number {
  const counts = new Map<number, number>();
  for (const byte of secret) counts.set(byte, (counts.get(byte) ?? 0) + 1);
  let perByte = 0;
  for (const count of counts.values()) {
    const p = count / secret.length;
    perByte -= p * Math.log2(p);
  }
  return perByte * secret.length;
}

/** A stable 6-character id for a secret given without one. */
function derivedId(secret: string | Buffer): string {
  return createHash('sha256').update('tessera/key-id').update(secret).digest('base64url').slice(0, 6);
}

function mac(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64url');
}

/**
 * `cookie-signature`'s signature: HMAC-SHA256 in standard base64 without `=` padding (a string
 * secret is its UTF-8 bytes, as in `cookie-signature`).
 */
function legacyMac(secret: string | Buffer, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('base64').replace(/=+$/, '');
}

/** Constant-time string comparison (lengths are public: both are fixed-size MACs). */
function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
