/**
 * A lock per user, so that counting a user's sessions and creating one is atomic: with
 * `maxSessionsPerUser`, ten parallel sign-ins of one user (in one process or in several) end
 * with at most that many live sessions.
 *
 * Two layers:
 * - in this process, the sign-ins of one user take turns (a promise chain per user);
 * - across processes, the lock is a record in the store itself, created with the store's
 *   create-once write (`set` with `expectVersion: null`, atomic on every native store: a Lua
 *   script, `INSERT ... ON CONFLICT DO NOTHING`, ...). Its key, `lock.<SHA-256 of the user id>`,
 *   can never be a session's. It expires after a lease, so a process that dies holding it
 *   blocks that user's sign-ins for at most the lease. A store whose create is not atomic
 *   (an express-session store behind `LegacyStore`) gives the in-process layer only.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SessionRecord } from '../store/types.js';
import type { SessionContext } from './context.js';
import { TesseraError } from './errors.js';
import type { RequestInfo } from './request.js';

/** The longest a lock is held before it lapses, in ms, when the store calls have no deadline. */
const MAX_LEASE_MS = 60_000;
/** The shortest lease, in ms. */
const MIN_LEASE_MS = 10_000;
/** Base and cap of the backoff between attempts at a busy lock, in ms. */
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 50;

/** In-process turns per user: the tail of each user's chain. */
const turns = new WeakMap<SessionContext, Map<string, Promise<unknown>>>();

/** The store key of a user's lock record. */
export function lockKeyOf(userId: string): string {
  return `lock.${createHash('sha256').update(userId).digest('base64url')}`;
}

/**
 * Run `task` holding `userId`'s lock.
 * @throws TesseraError `WRITE_CONFLICT` when the lock stays busy past the wait (twice the store
 * timeout, at least a second); `STORE_UNAVAILABLE` from the store.
 */
export async function withUserLock<T>(ctx: SessionContext, request: RequestInfo, userId: string, task: () => Promise<T>): Promise<T> {
  let chains = turns.get(ctx);
  if (chains === undefined) turns.set(ctx, (chains = new Map()));
  const before = chains.get(userId) ?? Promise.resolve();
  const mine = before.then(() => holdingStoreLock(ctx, request, userId, task));
  const tail = mine.catch(() => undefined);
  chains.set(userId, tail);
  try {
    return await mine;
  } finally {
    if (chains.get(userId) === tail) chains.delete(userId);
  }
}

async function holdingStoreLock<T>(ctx: SessionContext, request: RequestInfo, userId: string, task: () => Promise<T>): Promise<T> {
  const key = lockKeyOf(userId);
  const timeout = ctx.options.storeTimeout;
  const lease = timeout === Infinity ? MAX_LEASE_MS : Math.min(MAX_LEASE_MS, Math.max(MIN_LEASE_MS, 5 * timeout));
  const waitUntil = ctx.options.now() + (timeout === Infinity ? MAX_LEASE_MS : Math.max(1000, 2 * timeout));
  for (let attempt = 0; ; attempt++) {
    const now = ctx.options.now();
    if (await ctx.gateway.write(key, lockRecord(now, lease), null, request)) break;
    if (now >= waitUntil) {
      throw new TesseraError('WRITE_CONFLICT', 'Too many sign-ins of one user at once: its session-limit lock stayed busy');
    }
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    await new Promise((resolve) => setTimeout(resolve, cap / 2 + Math.random() * (cap / 2)));
  }
  try {
    return await task();
  } finally {
    await ctx.gateway.remove(key, request).catch(() => undefined); // it lapses anyway
  }
}

/** The record that holds a lock: anonymous, empty, expiring after the lease. */
function lockRecord(now: number, lease: number): SessionRecord {
  return {
    version: 1,
    createdAt: now,
    authenticatedAt: null,
    lastSeenAt: now,
    expiresAt: now + lease,
    userId: null,
    data: { lock: randomBytes(9).toString('base64url') },
    meta: {},
  };
}
