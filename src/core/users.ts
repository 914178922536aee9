/**
 * Per-user controls: list a user's sessions, end one, end all (but one), end everyone's, and
 * keep a user within `maxSessionsPerUser`.
 * @module
 */
import type { UserSessionEntry } from '../store/types.js';
import type { SessionContext } from './context.js';
import { TesseraError } from './errors.js';
import { familyOf, timeoutsOf } from './families.js';
import { expiryReason } from './policy.js';
import type { RequestInfo } from './request.js';

/** A session of a user as shown in "your sessions" lists. */
export interface SessionInfo {
  /** The store key: an identifier safe to show and to pass to `revokeSession` (not the token). */
  id: string;
  /** Short HMAC reference, as in events and logs. */
  ref: string;
  /** Whether this is the session of the current request. */
  current: boolean;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch, or `null`. */
  authenticatedAt: number | null;
  /** ms since epoch. */
  lastSeenAt: number;
  /** When it expires unless used again (ms since epoch). */
  expiresAt: number;
  /** User agent at creation. */
  userAgent: string | undefined;
  /** IP at creation. */
  ip: string | undefined;
  /**
   * `'session'` for a cookie or header session, `'tokens'` for a refresh-token family of
   * `tessera/tokens` (an API or mobile client).
   */
  kind: 'session' | 'tokens';
  /** What the app said the client is when it issued the tokens (`'iPhone 15'`), if it did. */
  device: string | undefined;
}

/** Why sessions of a user were ended together. */
export type RevokeReason = 'sign_out_everywhere' | 'sign_out_others' | 'admin';

/** The live sessions of a user. */
export async function liveSessions(ctx: SessionContext, userId: string, request: RequestInfo | undefined): Promise<UserSessionEntry[]> {
  const entries = await ctx.gateway.listUser(userId, request);
  const now = ctx.options.now();
  return entries.filter((entry) => entry.record.userId === userId && expiryReason(entry.record, timeoutsOf(entry.record, ctx.options), now) === null);
}

/** The sessions of a user for a list, the one under `currentKey` marked. */
export async function listSessions(ctx: SessionContext, userId: string, request: RequestInfo | undefined, currentKey: string | null): Promise<SessionInfo[]> {
  return (await liveSessions(ctx, userId, request)).map((entry) => describe(ctx, entry, entry.key === currentKey));
}

function describe(ctx: SessionContext, entry: UserSessionEntry, current: boolean): SessionInfo {
  const { record } = entry;
  const family = familyOf(record);
  return {
    id: entry.key,
    ref: ctx.reference(entry.key),
    current,
    createdAt: record.createdAt,
    authenticatedAt: record.authenticatedAt,
    lastSeenAt: record.lastSeenAt,
    expiresAt: record.expiresAt,
    userAgent: record.meta.userAgent,
    ip: record.meta.ip,
    kind: family === undefined ? 'session' : 'tokens',
    device: family?.device,
  };
}

/** End one session of a user by its id (store key). @returns whether one was ended. */
export async function revokeOne(ctx: SessionContext, userId: string, id: unknown, request: RequestInfo | undefined): Promise<boolean> {
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) return false;
  const record = await ctx.gateway.read(id, request, () => ctx.reference(id));
  if (record === null || record.userId !== userId) return false;
  await ctx.gateway.remove(id, request);
  ctx.emit('revoked', request, ctx.reference(id), userId, { reason: 'user', count: 1 });
  return true;
}

/** End every session of a user, except `exceptKey`. @returns how many were ended. */
export async function revokeUser(ctx: SessionContext, userId: string, request: RequestInfo | undefined, exceptKey: string | undefined, reason: RevokeReason): Promise<number> {
  if (typeof userId !== 'string' || userId.length === 0) return 0;
  const count = await ctx.gateway.deleteByUser(userId, exceptKey, request);
  const ref = exceptKey === undefined ? null : ctx.reference(exceptKey);
  if (count > 0) ctx.emit('revoked', request, ref, userId, { reason, count });
  return count;
}

/**
 * End every session of every user, on stores that implement `deleteAll`.
 * @throws TesseraError `INVALID_OPTION` when the store cannot.
 */
export async function revokeAll(ctx: SessionContext): Promise<number> {
  if (!ctx.gateway.canDeleteAll) {
    throw new TesseraError('INVALID_OPTION', 'This store cannot delete every session; rotate the key ring instead');
  }
  const count = await ctx.gateway.deleteAll();
  ctx.emit('revoked', undefined, null, null, { reason: 'admin', count });
  return count;
}

/**
 * Whether a sign-in of `userId` can go ahead under `maxSessionsPerUser`, checked early so that
 * `signIn` itself refuses under the `reject` policy. Not atomic: the create that stores the
 * new session checks again under the user's lock ({@link makeRoomFor}).
 * @throws TesseraError `SESSION_LIMIT` with the `reject` policy when the user is at the limit.
 */
export async function checkRoomFor(ctx: SessionContext, userId: string, request: RequestInfo, replacingKey: string | null): Promise<void> {
  const max = ctx.options.maxSessionsPerUser;
  if (max === Infinity || ctx.options.sessionLimitPolicy !== 'reject') return;
  const others = (await liveSessions(ctx, userId, request)).filter((entry) => entry.key !== replacingKey);
  if (others.length >= max) throw new TesseraError('SESSION_LIMIT', 'Too many active sessions for this user');
}

/**
 * Enforce `maxSessionsPerUser` before a new session of `userId` is stored: evict the oldest
 * sessions or refuse. Called under the user's lock (`./user-lock.js`), right before the create.
 * @throws TesseraError `SESSION_LIMIT` with the `reject` policy.
 */
export async function makeRoomFor(ctx: SessionContext, userId: string, request: RequestInfo, replacingKey: string | null): Promise<void> {
  const max = ctx.options.maxSessionsPerUser;
  if (max === Infinity) return;
  const others = (await liveSessions(ctx, userId, request)).filter((entry) => entry.key !== replacingKey);
  const excess = others.length - max + 1;
  if (excess <= 0) return;
  if (ctx.options.sessionLimitPolicy === 'reject') {
    throw new TesseraError('SESSION_LIMIT', 'Too many active sessions for this user');
  }
  others.sort((a, b) => a.record.createdAt - b.record.createdAt);
  for (const entry of others.slice(0, excess)) {
    await ctx.gateway.remove(entry.key, request);
    ctx.emit('revoked', request, ctx.reference(entry.key), userId, { reason: 'session_limit', count: 1 });
  }
}
