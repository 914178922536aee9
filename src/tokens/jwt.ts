/**
 * Stateless access tokens: JWTs (RFC 7519) signed through `jose`, for APIs that must not read
 * the store on every request. The price is the revocation delay: a revoked family's access
 * token keeps verifying until it expires (at most `accessLifetime`); its refresh is refused at
 * once.
 *
 * Shaped after RFC 9068 (JWT access tokens): header `typ: 'at+jwt'` and `kid` (the key ring id
 * the key was derived from); claims `sub` (user id), `sid` (the family id of `listSessions`),
 * `auth_time`, `iat`, `exp` (seconds), `jti` (a keyed hash of the refresh token it came with,
 * so a retried refresh gets the very same token), and `iss` / `aud` when configured.
 *
 * Keys are derived from the key ring's secrets (HKDF, one purpose per algorithm), so rotating
 * the ring rotates them: tokens of a key still in the ring verify, those of a removed key do
 * not. `EdDSA` (Ed25519, the default) signs with a private key whose public half
 * {@link JwtAccess.jwks} publishes, so other services verify without the secret; `HS256`
 * signs with a secret key that only holders of the ring can verify with.
 * @module
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type * as Jose from 'jose';
import type { KeyRing } from '../core/keyring.js';
import { TesseraError } from '../core/errors.js';
import { checkNames, checkValue } from '../core/option-checks.js';

/** Signature algorithms of stateless access tokens. */
export type JwtAlgorithm = 'EdDSA' | 'HS256';

/** Settings of stateless access tokens (`createTokens(engine, { accessTokens: 'jwt', jwt })`). */
export interface JwtOptions {
  /** `EdDSA` (Ed25519: public verification through `jwks()`) or `HS256` (the ring's secret only). @default 'EdDSA' */
  algorithm?: JwtAlgorithm;
  /** The `iss` claim put in, and required on verification. @default none */
  issuer?: string;
  /** The `aud` claim put in, and required on verification (one of them, for a list). @default none */
  audience?: string | string[];
}

/** What a stateless access token says, once verified. */
export interface JwtClaims {
  userId: string;
  /** The family id (`listSessions`' `id`). */
  familyId: string;
  /** When the user signed in (ms since epoch, to the second). */
  authenticatedAt: number;
  /** When the token stops working (ms since epoch, to the second). */
  expiresAt: number;
}

/** What goes into a new stateless access token. Times in ms since epoch. */
export interface JwtContent extends JwtClaims {
  issuedAt: number;
  /** Unique per refresh token and stable across retries. */
  jwtId: string;
}

/** A public key as `jwks()` lists it (RFC 7517). */
export interface PublicJwk {
  /** `OKP` (RFC 8037). */
  kty: 'OKP';
  /** `Ed25519`. */
  crv: string;
  /** The public key, base64url. */
  x: string;
  /** The key ring id the key was derived from: the `kid` of the tokens it verifies. */
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** `jwt` options after defaults. */
export type ResolvedJwtOptions = JwtOptions & { algorithm: JwtAlgorithm };

/** A signing or verifying key: an Ed25519 key object, or HS256's secret bytes. */
type JwtKey = KeyObject | Uint8Array;

const PURPOSE: Record<JwtAlgorithm, string> = { EdDSA: 'tessera/jwt-ed25519', HS256: 'tessera/jwt-hs256' };
/** DER prefix of a PKCS #8 Ed25519 private key; the 32-byte seed follows (RFC 8410 §7). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const TYP = 'at+jwt';
/**
 * Tokens longer than this (characters) are refused before any crypto. The longest tessera signs
 * (a 256-character user id of 3-byte characters, the longest issuer and audiences) is about 2,600.
 */
export const MAX_JWT_LENGTH = 4096;
/** Longest `iss`, and longest `aud` list (all its strings together), in characters. */
const MAX_CLAIM_LENGTH = { issuer: 256, audience: 512 };

/** Check `jwt` options once, at `createTokens`. @throws TesseraError `INVALID_OPTION`. */
export function resolveJwtOptions(options: JwtOptions | undefined): ResolvedJwtOptions {
  if (options === undefined) return { algorithm: 'EdDSA' };
  if (typeof options !== 'object' || options === null) throw new TesseraError('INVALID_OPTION', 'jwt: expected an object');
  checkNames(options, ['algorithm', 'issuer', 'audience'], 'jwt');
  if (options.algorithm !== undefined) checkValue('jwt.algorithm', options.algorithm, { kind: 'oneOf', values: ['EdDSA', 'HS256'] });
  const algorithm = options.algorithm ?? 'EdDSA';
  if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '' || options.issuer.length > MAX_CLAIM_LENGTH.issuer)) {
    throw new TesseraError('INVALID_OPTION', `jwt.issuer: expected a non-empty string of at most ${MAX_CLAIM_LENGTH.issuer} characters`);
  }
  const audiences: unknown[] = options.audience === undefined ? [] : Array.isArray(options.audience) ? options.audience : [options.audience];
  const strings = audiences.every((a): a is string => typeof a === 'string' && a !== '');
  if (options.audience !== undefined && (audiences.length === 0 || !strings || audiences.join('').length > MAX_CLAIM_LENGTH.audience)) {
    throw new TesseraError('INVALID_OPTION', `jwt.audience: expected a non-empty string or list of them, ${MAX_CLAIM_LENGTH.audience} characters at most in all`);
  }
  return { ...options, algorithm };
}

/** Signs and verifies stateless access tokens with keys derived from a key ring. */
export class JwtAccess {
  readonly #ring: KeyRing;
  readonly #options: ResolvedJwtOptions;
  readonly #keys = new Map<string, { sign: JwtKey; verify: JwtKey }>();
  #jose: Promise<typeof Jose> | undefined;

  constructor(ring: KeyRing, options: ResolvedJwtOptions) {
    this.#ring = ring;
    this.#options = options;
  }

  /** The signature algorithm in use. */
  get algorithm(): JwtAlgorithm {
    return this.#options.algorithm;
  }

  /**
   * Load `jose` now, so that an operation that writes to the store can fail before it writes.
   * @throws TesseraError `INVALID_OPTION` when `jose` is not installed.
   */
  async ready(): Promise<void> {
    await this.#load();
  }

  /** A signed access token. @throws TesseraError `INVALID_OPTION` when `jose` is not installed. */
  async sign(content: JwtContent): Promise<string> {
    const jose = await this.#load();
    const keyId = this.#ring.signingKeyId;
    const jwt = new jose.SignJWT({ sid: content.familyId, auth_time: seconds(content.authenticatedAt) })
      .setProtectedHeader({ alg: this.#options.algorithm, kid: keyId, typ: TYP })
      .setSubject(content.userId)
      .setIssuedAt(seconds(content.issuedAt))
      .setExpirationTime(seconds(content.expiresAt))
      .setJti(content.jwtId);
    if (this.#options.issuer !== undefined) jwt.setIssuer(this.#options.issuer);
    if (this.#options.audience !== undefined) jwt.setAudience(this.#options.audience);
    return jwt.sign(this.#keysOf(keyId)!.sign);
  }

  /**
   * The claims of a token signed with a key still in the ring, of the configured algorithm,
   * type, issuer and audience, and not expired at `now` (ms); else `'expired'` or `'invalid'`.
   * Never throws for a bad token.
   */
  async verify(token: unknown, now: number): Promise<JwtClaims | 'expired' | 'invalid'> {
    if (typeof token !== 'string' || token.length > MAX_JWT_LENGTH || !isCanonicalCompact(token)) return 'invalid';
    const jose = await this.#load();
    try {
      const { payload } = await jose.jwtVerify(
        token,
        (header) => {
          const keys = typeof header.kid === 'string' ? this.#keysOf(header.kid) : undefined;
          if (keys === undefined) throw new Error('unknown key');
          return keys.verify;
        },
        {
          algorithms: [this.#options.algorithm],
          typ: TYP,
          currentDate: new Date(now),
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
          ...(this.#options.issuer === undefined ? {} : { issuer: this.#options.issuer }),
          ...(this.#options.audience === undefined ? {} : { audience: this.#options.audience }),
        },
      );
      const { sub, sid, auth_time: authTime, exp } = payload as { sub?: unknown; sid?: unknown; auth_time?: unknown; exp?: unknown };
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof authTime !== 'number' || typeof exp !== 'number') return 'invalid';
      // `jose` accepts a token in its expiry second; tessera's tokens end at `exp` exactly.
      if (now >= exp * 1000) return 'expired';
      return { userId: sub, familyId: sid, authenticatedAt: authTime * 1000, expiresAt: exp * 1000 };
    } catch (error) {
      return (error as { code?: unknown }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid';
    }
  }

  /**
   * The public keys (JWK Set, RFC 7517 §5) of every key in the ring, for services that verify
   * the tokens themselves: serve it at `/.well-known/jwks.json`. Only for `EdDSA`.
   * @throws TesseraError `INVALID_OPTION` for `HS256`, whose keys are secret.
   */
  jwks(): { keys: PublicJwk[] } {
    if (this.#options.algorithm !== 'EdDSA') throw new TesseraError('INVALID_OPTION', 'jwks(): HS256 keys are secret; use algorithm EdDSA to publish public keys');
    const keys: PublicJwk[] = [];
    for (const kid of this.#ring.verifyingKeyIds()) {
      const { crv, x } = (this.#keysOf(kid)!.verify as KeyObject).export({ format: 'jwk' });
      keys.push({ kty: 'OKP', crv: crv!, x: x!, kid, alg: 'EdDSA', use: 'sig' });
    }
    return { keys };
  }

  /** The signing and verifying keys derived from ring key `keyId`, or `undefined` for a retired one. */
  #keysOf(keyId: string): { sign: JwtKey; verify: JwtKey } | undefined {
    const cached = this.#keys.get(keyId);
    if (cached !== undefined) return cached;
    const seed = this.#ring.derive(keyId, PURPOSE[this.#options.algorithm]);
    if (seed === undefined) return undefined;
    let keys: { sign: JwtKey; verify: JwtKey };
    if (this.#options.algorithm === 'EdDSA') {
      const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
      keys = { sign: privateKey, verify: createPublicKey(privateKey) };
    } else {
      // An HS256 key is the 32 derived bytes.
      keys = { sign: seed, verify: seed };
    }
    this.#keys.set(keyId, keys);
    return keys;
  }

  /** `jose`, loaded on first use (an optional peer dependency: only this mode needs it). */
  #load(): Promise<typeof Jose> {
    this.#jose ??= import('jose').catch((error: unknown) => {
      this.#jose = undefined;
      throw new TesseraError('INVALID_OPTION', "accessTokens: 'jwt' needs the jose package (npm install jose)", { cause: error });
    });
    return this.#jose;
  }
}

/**
 * Whether a token is three parts of canonical base64url (RFC 7515 §7.1): nothing but the
 * alphabet, and the last character's unused bits zero. Node's decoder ignores stray characters
 * and those bits, so without this check `token + ' '` or a changed last character would verify
 * as the same token (a second spelling of one credential, which a blocklist or a cache keyed by
 * the token would miss).
 */
function isCanonicalCompact(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => BASE64URL.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part);
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whole seconds since epoch, as JWT times are. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
