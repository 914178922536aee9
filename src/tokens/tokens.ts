/**
 * Access tokens and rotating refresh tokens for API and mobile clients, on an engine's store.
 *
 * A sign-in ({@link Tokens.issue}) starts a refresh *family*: a record in the session store,
 * under the user, holding only hashes (as every session does), listed by `listSessions` as
 * `kind: 'tokens'` and ended by `revokeUser`, `revokeOne` and `signOutEveryWhere` like any
 * session. The refresh token rotates with the session rotation protocol (`core/rotation.ts`,
 * docs/rotation.md), not a copy of it:
 *
 * - `refresh(R0)` starts a rotation: `R1` is pending, and `R0` keeps answering with the same
 *   pair, so a response lost on the network costs nothing (within `retryWindow`);
 * - `refresh(R1)` completes it (`R0` is retired) and starts the next one (`R2`);
 * - `R0` after `R1` was used, or any older token, is a replay: two holders. The family is
 *   revoked (both are signed out) and `reuse_detected` is emitted.
 *
 * Access tokens are short-lived and, by default, checked against the store on every use, so a
 * revocation applies at the next request; `accessTokens: 'jwt'` makes them stateless JWTs
 * (`./jwt.js`) that verify without the store, revoked at the latest when they expire.
 * @module
 */
import { internals, type Engine } from '../core/engine.js';
import type { SessionContext } from '../core/context.js';
import { FAMILY_KEY, familyOf, type FamilyFacts } from '../core/families.js';
import { expiryReason, storeExpiry, type Timeouts } from '../core/policy.js';
import type { RequestInfo } from '../core/request.js';
import { metaOf } from '../core/request.js';
import { matchToken, rotationStep, tokensOf } from '../core/rotation.js';
import { newIdentity, storeKeyOf, tokenHashOf, type Identity } from '../core/token.js';
import { isUserId } from '../core/identity.js';
import { TesseraError } from '../core/errors.js';
import { withUserLock } from '../core/user-lock.js';
import { makeRoomFor } from '../core/users.js';
import type { SessionRecord } from '../store/types.js';
import { accessRef, formatAccess, formatRefresh, parseAccess, parseRefresh } from './format.js';
import { JwtAccess, type PublicJwk } from './jwt.js';
import { resolveTokenOptions, type ResolvedTokenOptions, type TokenOptions } from './options.js';

/** A new access token and refresh token, as `issue` and `refresh` give them. */
export interface TokenPair {
  /** Send as `Authorization: Bearer <accessToken>`. Clients never parse it (a JWT in `'jwt'` mode, meant for servers). */
  accessToken: string;
  /** Keep it secret (the platform's secure storage); send it to the refresh endpoint only. */
  refreshToken: string;
  /** When the access token stops working (ms since epoch). */
  accessExpiresAt: number;
  /** When the family ends however active (ms since epoch); idle families end sooner. */
  refreshExpiresAt: number;
}

/** Why a refresh gave no new pair. */
export type RefreshFailure =
  /** Not a refresh token tessera signed (or one of a retired key). */
  | 'invalid'
  /** The family is gone: signed out, revoked, or purged. */
  | 'unknown'
  /** The family's idle or absolute deadline passed. */
  | 'expired'
  /** A retired refresh token came back: the family is revoked. */
  | 'reuse_detected';

/** What `refresh` gives: a new pair, or why not. Never a throw for a bad token. */
export type RefreshResult = { ok: true; pair: TokenPair; userId: string } | { ok: false; reason: RefreshFailure };

/** Who an access token stands for, as `verifyAccess` and `requireAccessToken()` give it. */
export interface AccessGrant {
  /** The signed-in user. */
  userId: string;
  /** The family's id: the `id` of `listSessions`, for `revokeOne`. */
  id: string;
  /** When the user signed in (ms since epoch): `issue` time. */
  authenticatedAt: number;
  /** When the access token stops working (ms since epoch). */
  expiresAt: number;
}

/** Device facts given to `issue`, for session lists and anomaly reports. */
export interface IssueMeta {
  /** What the client is, in the app's words (`'iPhone 15'`); shown as `device` in `listSessions`. At most 64 characters kept. */
  device?: string;
  /** The client's `User-Agent`. */
  userAgent?: string;
  /** The client's IP address. */
  ip?: string;
}

/** A request as the token operations report it in events (any of the fields may be missing). */
export type TokenRequest = Partial<Pick<RequestInfo, 'ip' | 'userAgent' | 'method' | 'path'>>;

/** Rotation races a refresh retries before giving up. */
const MAX_ATTEMPTS = 4;

/** Access and refresh tokens for one engine; see {@link createTokens}. */
export class Tokens {
  /** The settings in force (durations in ms) and the clock. */
  readonly options: Readonly<ResolvedTokenOptions>;
  readonly #ctx: SessionContext;
  readonly #opts: ResolvedTokenOptions;
  readonly #timeouts: Timeouts;
  /** Set in `accessTokens: 'jwt'` mode. */
  readonly #jwt: JwtAccess | undefined;

  /** @throws TesseraError `INVALID_OPTION` for bad durations. */
  constructor(engine: Engine, options: TokenOptions = {}) {
    const base = internals(engine);
    this.#opts = resolveTokenOptions(options, base.options.now);
    // Every refresh rotates: the rotation protocol's schedule is "now" for refresh tokens.
    this.#ctx = { ...base, options: { ...base.options, rotateEvery: 0 } };
    this.options = Object.freeze({ ...this.#opts });
    this.#timeouts = { idleTimeout: this.#opts.refreshIdleTimeout, absoluteTimeout: this.#opts.refreshLifetime, maxClockSkew: base.options.maxClockSkew };
    this.#jwt = this.#opts.jwt === undefined ? undefined : new JwtAccess(base.keyRing, this.#opts.jwt);
  }

  /**
   * Start a family for a user who just proved who they are: a refresh token and a first
   * access token. It counts against `maxSessionsPerUser` as a sign-in does.
   * @throws TesseraError `INVALID_OPTION` for a bad user id, or in `'jwt'` mode without `jose`
   * (nothing is stored then); `SESSION_LIMIT` under the `reject` policy; `STORE_UNAVAILABLE`.
   */
  async issue(userId: string, meta: IssueMeta = {}, request?: TokenRequest): Promise<TokenPair> {
    if (!isUserId(userId)) throw new TesseraError('INVALID_OPTION', 'issue: userId must be a non-empty string of at most 256 characters');
    // Fail before the family is stored, not after, when 'jwt' mode has no jose to sign with.
    await this.#jwt?.ready();
    const ctx = this.#ctx;
    const now = this.#opts.now();
    const identity = newIdentity();
    const key = storeKeyOf(identity.sid);
    const facts: FamilyFacts = { v: 1, absoluteMs: this.#opts.refreshLifetime, idleMs: this.#opts.refreshIdleTimeout };
    if (typeof meta.device === 'string' && meta.device !== '') facts.device = meta.device.slice(0, 64);
    const fields = { createdAt: now, lastSeenAt: now, idleTimeoutMs: facts.idleMs };
    const record: SessionRecord = {
      version: 1,
      ...fields,
      authenticatedAt: now,
      expiresAt: storeExpiry(fields, this.#timeouts, ctx.gateway.expiryGraceMs),
      userId,
      data: { [FAMILY_KEY]: facts },
      meta: metaOf({ cookie: undefined, secure: true, userAgent: meta.userAgent ?? request?.userAgent, ip: meta.ip ?? request?.ip }),
      tokens: { current: tokenHashOf(identity.token), issuedAt: now },
    };
    const info = infoOf(request);
    const create = async (): Promise<void> => {
      if (!(await ctx.gateway.write(key, record, null, info))) throw new TesseraError('WRITE_CONFLICT', 'A new token family collided with an existing session');
    };
    // A family counts against `maxSessionsPerUser` like any session, enforced as a sign-in does.
    if (ctx.options.maxSessionsPerUser === Infinity) await create();
    else await withUserLock(ctx, info, userId, async () => {
      await makeRoomFor(ctx, userId, info, null);
      await create();
    });
    ctx.emit('created', info, ctx.reference(key), userId);
    ctx.emit('authenticated', info, ctx.reference(key), userId);
    return await this.#pair(record, identity, now);
  }

  /**
   * Exchange a refresh token for a new pair. A lost response is retried with the same token
   * and gets the same pair; a retired token ends the family (`reuse_detected`).
   * @throws TesseraError `STORE_UNAVAILABLE`; `INVALID_OPTION` in `'jwt'` mode without `jose`.
   */
  async refresh(refreshToken: unknown, request?: TokenRequest): Promise<RefreshResult> {
    const info = infoOf(request);
    const identity = parseRefresh(this.#ctx.keyRing, refreshToken);
    if (identity === undefined) {
      this.#ctx.emit('invalid_token', info, null, null, { reason: typeof refreshToken === 'string' && refreshToken.length > 512 ? 'oversized' : 'malformed' });
      return { ok: false, reason: 'invalid' };
    }
    const key = storeKeyOf(identity.sid);
    await this.#jwt?.ready();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const outcome = await this.#refreshOnce(key, identity, info);
      if (outcome !== 'conflict') return outcome;
    }
    throw new TesseraError('WRITE_CONFLICT', 'Too many concurrent refreshes of one token family');
  }

  async #refreshOnce(key: string, identity: Identity, info: RequestInfo): Promise<RefreshResult | 'conflict'> {
    const ctx = this.#ctx;
    const found = await this.#live(key, info);
    if (typeof found === 'string') return { ok: false, reason: found };
    const now = this.#opts.now();
    const record = { ...found, lastSeenAt: Math.max(found.lastSeenAt, now) };
    record.expiresAt = storeExpiry(record, this.#timeouts, ctx.gateway.expiryGraceMs);
    const match = matchToken(ctx, record, key, identity.token, now);
    const pending = tokensOf(record, key).pending;
    // For a refresh token the grace window of in-flight requests does not apply: a retired
    // refresh token is never needed again. Neither is a pending pair retried too late.
    const stale = match.kind === 'current' && pending !== undefined && now - pending.startedAt > this.#opts.retryWindow;
    if (match.kind === 'replay' || match.kind === 'grace' || stale) return this.#reuse(key, found, info);
    let step = await rotationStep(ctx, info, key, record, identity, match, now);
    if (step === 'conflict') return 'conflict';
    if (match.kind === 'pending') {
      // The new refresh token was used: rotation complete. Hand out its successor.
      const next = await rotationStep(ctx, info, key, step.record, identity, { kind: 'current' }, now);
      if (next === 'conflict') return 'conflict';
      step = next;
    }
    return { ok: true, pair: await this.#pair(step.record, step.identity!, now), userId: found.userId! };
  }

  /**
   * Who an access token stands for, after checking its signature, its expiry, and that its
   * family is live and the refresh token it came with is still the family's (so a revocation
   * takes effect at once). In `'jwt'` mode, the signature, type, issuer, audience and expiry
   * only: no store read. `null` for anything else; never throws for a bad token.
   * @throws TesseraError `STORE_UNAVAILABLE` (opaque mode); `INVALID_OPTION` when `'jwt'` mode
   * finds no `jose` package.
   */
  async verifyAccess(accessToken: unknown, request?: TokenRequest): Promise<AccessGrant | null> {
    const ctx = this.#ctx;
    const info = infoOf(request);
    if (this.#jwt !== undefined) {
      const verified = await this.#jwt.verify(accessToken, this.#opts.now());
      if (verified === 'invalid') ctx.emit('invalid_token', info, null, null, { reason: 'malformed' });
      if (typeof verified === 'string') return null;
      return { userId: verified.userId, id: verified.familyId, authenticatedAt: verified.authenticatedAt, expiresAt: verified.expiresAt };
    }
    const claims = parseAccess(ctx.keyRing, accessToken);
    if (claims === undefined) {
      ctx.emit('invalid_token', info, null, null, { reason: 'malformed' });
      return null;
    }
    const now = this.#opts.now();
    if (now >= claims.expiresAt) return null;
    const key = storeKeyOf(claims.sid);
    const record = await this.#live(key, info);
    if (typeof record === 'string') return null;
    const tokens = tokensOf(record, key);
    const issuedWith = [tokens.current, tokens.pending?.hash, tokens.previous?.hash];
    if (!issuedWith.some((hash) => hash !== undefined && accessRef(ctx.keyRing, claims.keyId, hash) === claims.ref)) return null;
    return { userId: record.userId!, id: key, authenticatedAt: record.authenticatedAt ?? record.createdAt, expiresAt: claims.expiresAt };
  }

  /**
   * End the family of a refresh token (the client signs out). A token that leads nowhere ends
   * nothing. @returns whether a family was ended. @throws TesseraError `STORE_UNAVAILABLE`.
   */
  async revoke(refreshToken: unknown, request?: TokenRequest): Promise<boolean> {
    const identity = parseRefresh(this.#ctx.keyRing, refreshToken);
    if (identity === undefined) return false;
    const key = storeKeyOf(identity.sid);
    const info = infoOf(request);
    const record = await this.#live(key, info);
    if (typeof record === 'string' || matchToken(this.#ctx, record, key, identity.token, this.#opts.now()).kind === 'replay') return false;
    await this.#ctx.gateway.remove(key, info);
    this.#ctx.emit('destroyed', info, this.#ctx.reference(key), record.userId, { reason: 'sign_out' });
    return true;
  }

  /** The family under `key` if it is one and live; else why not (an expired one is deleted). */
  async #live(key: string, info: RequestInfo): Promise<SessionRecord | 'unknown' | 'expired'> {
    const ctx = this.#ctx;
    const record = await ctx.gateway.read(key, info, () => ctx.reference(key));
    if (record === null || familyOf(record) === undefined || record.userId === null) return 'unknown';
    const expired = expiryReason(record, this.#timeouts, this.#opts.now());
    if (expired === null) return record;
    await ctx.gateway.remove(key, info);
    ctx.emit('expired', info, ctx.reference(key), record.userId, { reason: expired });
    return 'expired';
  }

  /** Two holders of one family: end it for both, and say so once. */
  async #reuse(key: string, record: SessionRecord, info: RequestInfo): Promise<RefreshResult> {
    const ref = this.#ctx.reference(key);
    this.#ctx.emit('reuse_detected', info, ref, record.userId, { action: 'revoke' });
    await this.#ctx.gateway.remove(key, info);
    this.#ctx.emit('revoked', info, ref, record.userId, { reason: 'token_reuse', count: 1 });
    return { ok: false, reason: 'reuse_detected' };
  }

  /**
   * The public keys of `'jwt'` access tokens (a JWK Set, RFC 7517) for services that verify
   * them on their own; serve it at `/.well-known/jwks.json`. Every key of the ring is listed, so
   * tokens signed before a key rotation keep verifying there too.
   * @throws TesseraError `INVALID_OPTION` in opaque mode, and for `HS256` (its keys are secret).
   */
  jwks(): { keys: PublicJwk[] } {
    if (this.#jwt === undefined) throw new TesseraError('INVALID_OPTION', "jwks(): only stateless access tokens (accessTokens: 'jwt') have public keys");
    return this.#jwt.jwks();
  }

  /** The pair of a family whose refresh token is `identity`'s; the access token is derived, so a retry gets the same one. */
  async #pair(record: SessionRecord, identity: Identity, now: number): Promise<TokenPair> {
    const ring = this.#ctx.keyRing;
    const hash = tokenHashOf(identity.token);
    const key = storeKeyOf(identity.sid);
    const pending = tokensOf(record, key).pending;
    // A pending pair's access token counts from when the rotation started, so it is the same on every retry.
    const from = pending !== undefined && pending.hash === hash ? pending.startedAt : now;
    const refreshExpiresAt = record.createdAt + this.#opts.refreshLifetime;
    let accessExpiresAt = Math.min(from + this.#opts.accessLifetime, refreshExpiresAt);
    const refreshToken = formatRefresh(ring, identity);
    if (this.#jwt === undefined) return { accessToken: formatAccess(ring, identity.sid, hash, accessExpiresAt), refreshToken, accessExpiresAt, refreshExpiresAt };
    // JWT times are whole seconds.
    accessExpiresAt = Math.floor(accessExpiresAt / 1000) * 1000;
    const accessToken = await this.#jwt.sign({
      userId: record.userId!,
      familyId: key,
      authenticatedAt: record.authenticatedAt ?? record.createdAt,
      issuedAt: from,
      expiresAt: accessExpiresAt,
      jwtId: accessRef(ring, ring.signingKeyId, hash)!,
    });
    return { accessToken, refreshToken, accessExpiresAt, refreshExpiresAt };
  }
}

/** A request's facts as the core's events take them. */
function infoOf(request: TokenRequest | undefined): RequestInfo {
  return { cookie: undefined, secure: true, ip: request?.ip, userAgent: request?.userAgent, method: request?.method, path: request?.path };
}

/**
 * Access and refresh tokens on an engine's store and key ring (`createSessions(...)`, or the
 * Express middleware's `.engine`).
 * @throws TesseraError `INVALID_OPTION` for bad durations.
 * @example
 * const tokens = createTokens(sessions.engine, { accessLifetime: 10 * 60_000 });
 * const pair = await tokens.issue(user.id, { device: 'iPhone 15' });
 */
export function createTokens(engine: Engine, options?: TokenOptions): Tokens {
  return new Tokens(engine, options);
}
