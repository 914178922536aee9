/**
 * Loading a request's session, in one direction: cookie → signature → record → deadlines →
 * token (rotation, replay) → anomaly. The outcome is one of two shapes, {@link Loaded}: a new
 * session (with what to do about the cookie the request brought), or a live one.
 * @module
 */
import type { SessionMeta, SessionRecord } from '../store/types.js';
import { detectAnomalies } from './anomaly.js';
import type { SessionContext } from './context.js';
import { endedSessionsOf, rememberEnded, type EndReason } from './ended.js';
import type { SessionData } from './handle.js';
import type { VerifiedValue } from './keyring.js';
import { expiryReason } from './policy.js';
import { metaOf, type RequestInfo } from './request.js';
import { matchToken, rotationStep, tokensOf } from './rotation.js';
import { storeKeyOf, tokenHashOf, type Identity } from './token.js';
import { readSessionToken, transportOf } from './transport.js';
import { claimsFamily } from './families.js';

/** What to do about the cookie a request brought, when it gives no live session. */
export type StaleCookie =
  /** Nothing to do (there was none). */
  | 'none'
  /** It led nowhere: clear it, unless a new session is set in its place. */
  | 'clear'
  /** It came twice (cookie tossing): clear the planted copies' scopes, never the app's own. */
  | 'duplicate';

/** How a request came to its session. */
export type Loaded =
  | {
      kind: 'new';
      cookie: StaleCookie;
      /** Why the session the cookie led to ended, when this request ended it or its process knows. */
      ended?: EndReason;
      /**
       * Data the new session starts with and must store: a session migrated from
       * express-session (and how to delete its old entry once stored), or the data kept when the
       * anomaly policy `require-reauth` signed the user out.
       */
      carry?: {
        data: SessionData;
        remove?: () => Promise<void>;
        /** The identity derived from the express-session id (a migration), instead of a random one. */
        identity?: Identity;
      };
    }
  | {
      kind: 'live';
      key: string;
      record: SessionRecord;
      /** The identity the client holds after this response; `null` for a request in the grace window. */
      identity: Identity | null;
      /** Set the cookie on this response: a rotated token to hand out, or a re-signed value. */
      sendCookie: boolean;
      /** Device metadata to record instead of the stored one (anomaly policy `report`). */
      meta?: SessionMeta;
    };

const NO_COOKIE: Loaded = { kind: 'new', cookie: 'none' };
const STALE: Loaded = { kind: 'new', cookie: 'clear' };
/** Reads of one record before a load gives up racing parallel rotations (each race is a write that won). */
const MAX_LOAD_ATTEMPTS = 4;

/**
 * Load the session of a request. A missing, malformed, forged, unknown, expired or replayed
 * cookie gives a new session (and an event); only a store failure throws.
 * @throws TesseraError `STORE_UNAVAILABLE`.
 */
export async function loadSession(ctx: SessionContext, request: RequestInfo): Promise<Loaded> {
  const found = readSessionToken(ctx.options, ctx.options.cookie.name, request);
  if (found.kind === 'absent') return NO_COOKIE;
  if (found.kind === 'invalid') {
    ctx.emit('invalid_token', request, null, null, { reason: found.reason });
    return found.reason === 'duplicate' ? { kind: 'new', cookie: 'duplicate' } : STALE;
  }
  // express-session's `s:<sid>.<sig>` values come in cookies only.
  const legacyAllowed = ctx.legacy !== undefined && transportOf(ctx.options, request) === 'cookie';
  const verified = ctx.keyRing.verify(found.value, legacyAllowed);
  if (verified.kind === 'invalid') {
    ctx.emit('invalid_token', request, null, null, { reason: verified.reason });
    return STALE;
  }
  if (verified.kind === 'legacy') return loadLegacy(ctx, request, verified.sid);
  const key = storeKeyOf(verified.identity.sid);
  for (let attempt = 1; ; attempt++) {
    const outcome = await loadRecord(ctx, request, key, verified);
    if (outcome !== 'conflict') return outcome;
    // Another request rotated the record between our read and our write; with its result
    // in the store, the next read sees where the session stands.
    if (attempt >= MAX_LOAD_ATTEMPTS) return liveWithoutRotation(ctx, request, key, verified);
  }
}

type Verified = Extract<VerifiedValue, { kind: 'token' }>;

async function loadRecord(ctx: SessionContext, request: RequestInfo, key: string, verified: Verified): Promise<Loaded | 'conflict'> {
  const ref = (): string => ctx.reference(key);
  const record = await ctx.gateway.read(key, request, ref);
  if (record === null) {
    ctx.emit('stale_cookie', request, ref(), null);
    return staleBecause(endedSessionsOf(ctx).recall(key, ctx.options.now()));
  }
  // A refresh-token family opens only through `tessera/tokens`, never as a session.
  if (claimsFamily(record)) {
    ctx.emit('stale_cookie', request, ref(), null);
    return STALE;
  }
  const now = ctx.options.now();
  const expired = expiryReason(record, ctx.options, now);
  if (expired !== null) {
    await ctx.gateway.remove(key, request);
    ctx.emit('expired', request, ref(), record.userId, { reason: expired });
    // `clock` proves nothing about the session: no reason to tell.
    return record.userId === null ? STALE : staleBecause(expired === 'clock' ? null : expired);
  }
  // Times up to maxClockSkew ahead stay as stored: writes never move them back, and the
  // session's getters report them as "now" (see policy.ts).
  const match = matchToken(ctx, record, key, verified.identity.token, now);
  if (match.kind === 'replay') return replay(ctx, request, key, record);
  const anomaly = await checkAnomaly(ctx, request, key, record);
  if (anomaly !== undefined && 'kind' in anomaly) return anomaly;
  const step = await rotationStep(ctx, request, key, record, verified.identity, match, now);
  if (step === 'conflict') return 'conflict';
  return {
    kind: 'live',
    key,
    record: step.record,
    identity: step.identity,
    sendCookie: step.handOut || (verified.resign && step.identity !== null),
    ...(anomaly !== undefined && { meta: anomaly.meta }),
  };
}

/** After repeated rotation races: the session as it is, without a rotation step this time. */
async function liveWithoutRotation(ctx: SessionContext, request: RequestInfo, key: string, verified: Verified): Promise<Loaded> {
  const record = await ctx.gateway.read(key, request, () => ctx.reference(key));
  if (record === null) return STALE;
  const now = ctx.options.now();
  const match = matchToken(ctx, record, key, verified.identity.token, now);
  if (match.kind === 'replay') return replay(ctx, request, key, record);
  const current = match.kind === 'current' || match.kind === 'pending';
  return { kind: 'live', key, record, identity: current ? verified.identity : null, sendCookie: false };
}

/** A token that was replaced came back too late: report it, and end the session unless told only to report. */
async function replay(ctx: SessionContext, request: RequestInfo, key: string, record: SessionRecord): Promise<Loaded> {
  const action = ctx.options.onTokenReuse;
  const ref = ctx.reference(key);
  ctx.emit('reuse_detected', request, ref, record.userId, { action });
  if (action === 'revoke') {
    await ctx.gateway.remove(key, request);
    ctx.emit('revoked', request, ref, record.userId, { reason: 'token_reuse', count: 1 });
    if (record.userId !== null) {
      // The other holder learns it on its next request too.
      rememberEnded(ctx, [key], 'replay');
      return staleBecause('replay');
    }
  }
  return STALE;
}

/** A cookie that led nowhere, with why its session ended when that is known. */
function staleBecause(reason: EndReason | null): Loaded {
  return reason === null ? STALE : { kind: 'new', cookie: 'clear', ended: reason };
}

/**
 * Compare the request's device with the session's and apply the anomaly policy, on every
 * request that reaches a session (grace-window requests included).
 * @returns nothing when unchanged; the new metadata to record (`report`); or the load's
 * outcome when the policy ends the session (`revoke`, `require-reauth`).
 */
async function checkAnomaly(ctx: SessionContext, request: RequestInfo, key: string, record: SessionRecord): Promise<Loaded | { meta: SessionMeta } | undefined> {
  const policy = ctx.options.anomaly;
  if (policy === false) return undefined;
  const current = metaOf(request);
  const changed = detectAnomalies(record.meta, current, policy);
  if (changed.length === 0) return undefined;
  const ref = ctx.reference(key);
  ctx.emit('anomaly', request, ref, record.userId, { changed, action: policy.policy });
  switch (policy.policy) {
    case 'revoke':
      await ctx.gateway.remove(key, request);
      ctx.emit('revoked', request, ref, record.userId, { reason: 'anomaly', count: 1 });
      return STALE;
    case 'require-reauth':
      // Sign the user out and keep the data, under a new session: the old one ends now.
      await ctx.gateway.remove(key, request);
      ctx.emit('revoked', request, ref, record.userId, { reason: 'anomaly', count: 1 });
      return { kind: 'new', cookie: 'clear', carry: { data: record.data } };
    default:
      return { meta: { ...record.meta, ...current } };
  }
}

async function loadLegacy(ctx: SessionContext, request: RequestInfo, sid: string): Promise<Loaded> {
  const legacy = ctx.legacy!;
  const identity = ctx.keyRing.migrationIdentity(sid);
  const data = await ctx.gateway.call('legacy_get', request, () => legacy.load(sid));
  if (data === null) return movedJustNow(ctx, request, identity);
  const remove = (): Promise<void> => ctx.gateway.call('legacy_delete', request, () => legacy.remove(sid));
  return { kind: 'new', cookie: 'none', carry: { data, remove, identity } };
}

/**
 * An old cookie whose express-session entry is gone: a request of the same cookie may have
 * just moved it (parallel requests, or a response the client never got). Within the rotation
 * grace of that move, and while the moved session still has the token the move gave it, the
 * old cookie opens it (and the response hands out the new cookie); after that it is stale, so
 * an old cookie forged from a store dump cannot reach a moved session.
 */
async function movedJustNow(ctx: SessionContext, request: RequestInfo, identity: Identity): Promise<Loaded> {
  const key = storeKeyOf(identity.sid);
  const record = await ctx.gateway.read(key, request, () => ctx.reference(key));
  const now = ctx.options.now();
  const tokens = record === null ? undefined : tokensOf(record, key);
  const recent =
    record !== null &&
    tokens !== undefined &&
    tokens.current === tokenHashOf(identity.token) &&
    now < tokens.issuedAt + ctx.options.rotationGrace + ctx.options.maxClockSkew &&
    expiryReason(record, ctx.options, now) === null;
  if (!recent) {
    ctx.emit('stale_cookie', request, null, null);
    return STALE;
  }
  return { kind: 'live', key, record, identity, sendCookie: true };
}
