/**
 * Committing a request's session: create it, write what changed with compare-and-set (rebasing
 * this request's changes on the fresher record after a conflict), or extend its idle deadline.
 * @module
 */
import type { SessionRecord } from '../store/types.js';
import type { SessionContext } from './context.js';
import { checkStorable } from './data-check.js';
import { TesseraError } from './errors.js';
import type { DataChanges, SessionHandle } from './handle.js';
import { storeExpiry } from './policy.js';
import { cookieDeliverable, cookieOptionsOf, type RequestInfo } from './request.js';
import type { RecordFields, RequestState } from './request-state.js';
import { tokenHashOf } from './token.js';
import { transportOf } from './transport.js';
import { withUserLock } from './user-lock.js';
import * as users from './users.js';

/**
 * Whether a session that is not stored yet has anything worth storing, and a cookie that can
 * reach the client (a new session whose cookie the browser would drop would only leave an
 * orphan record behind; a header client's token is always deliverable).
 */
export function worthStoring(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle): boolean {
  // A header client gets its token whatever the cookie's `Secure` flag says.
  const deliverable = transportOf(ctx.options, request) === 'header' || cookieDeliverable(cookieOptionsOf(ctx.options.cookie, request), request);
  if (!deliverable) return false;
  return data.size > 0 || state.fields.userId !== null || ctx.options.saveUninitialized || state.forceWrite;
}

/**
 * Write pending changes. Creates a new session that has content, writes changed data with
 * compare-and-set, or extends the idle deadline at most once per `touchInterval`.
 * @throws TesseraError `STORE_UNAVAILABLE` or `WRITE_CONFLICT`.
 */
export async function commit(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle): Promise<void> {
  const now = ctx.options.now();
  if (!state.stored) {
    // A session whose headers left without its cookie cannot be reached by the client: storing
    // it would only leave an orphan behind.
    if (!worthStoring(ctx, request, state, data) || state.headers === 'sent-without-cookie') return;
    await create(ctx, request, state, data, now);
    return;
  }
  const changes = data.changes();
  if (changes.size > 0 || state.fieldsChanged || state.forceWrite) {
    await write(ctx, request, state, data, now, changes);
  } else if (state.forceTouch || now - state.fields.lastSeenAt >= ctx.options.touchInterval) {
    await touch(ctx, request, state, data, now);
  }
}

/**
 * Store a new session. A signed-in one under `maxSessionsPerUser` is created holding its user's
 * lock, right after the limit is enforced, so parallel sign-ins cannot exceed it.
 */
async function create(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number): Promise<void> {
  const userId = state.fields.userId;
  if (userId === null || ctx.options.maxSessionsPerUser === Infinity) {
    await createNow(ctx, request, state, data, now);
    return;
  }
  await withUserLock(ctx, request, userId, async () => {
    await users.makeRoomFor(ctx, userId, request, null);
    await createNow(ctx, request, state, data, ctx.options.now());
  });
}

async function createNow(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number): Promise<void> {
  if (state.migrated) {
    await createMigrated(ctx, request, state, data, now);
    return;
  }
  const record = firstRecord(ctx, state, data, now);
  if (!(await ctx.gateway.write(state.key, record, null, request))) {
    throw new TesseraError('WRITE_CONFLICT', 'A new session collided with an existing one');
  }
  await created(ctx, request, state, data, record);
}

/** The first record of a new session: version 1, its token current. */
function firstRecord(ctx: SessionContext, state: RequestState, data: SessionHandle, now: number): SessionRecord {
  state.fields = { ...state.fields, version: 1, lastSeenAt: now, tokens: { current: tokenHashOf(state.identity!.token), issuedAt: now } };
  return recordOf(ctx, state.fields, data);
}

/** A new session is in the store: report it, and delete what it was migrated from. */
async function created(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, record: SessionRecord): Promise<void> {
  stored(state, data, record);
  state.cookie = 'set';
  state.migrated = false;
  const ref = ctx.reference(state.key);
  ctx.emit('created', request, ref, state.fields.userId);
  if (state.signedIn) ctx.emit('authenticated', request, ref, state.fields.userId);
  state.signedIn = false;
  await removeCarried(state);
}

async function removeCarried(state: RequestState): Promise<void> {
  const remove = state.removeCarried;
  state.removeCarried = undefined;
  if (remove) await remove();
}

/**
 * Create a session moved from express-session. Its identity is derived from the old session id,
 * so requests that show the same old cookie at once (here or on another host) create the same
 * key: the first create wins, and every other one joins the session it stored, writing only
 * its own changes on top. One old session never becomes two.
 */
async function createMigrated(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number): Promise<void> {
  const outcome = await ctx.writes.run(state.key, async (last) => {
    // A request of this process moved it already: no create to try.
    if (last !== undefined) return { result: undefined };
    const record = firstRecord(ctx, state, data, now);
    return (await ctx.gateway.write(state.key, record, null, request)) ? { result: record, wrote: record } : { result: undefined };
  });
  if (outcome !== undefined) {
    await created(ctx, request, state, data, outcome);
    return;
  }
  const changes = data.changes();
  const fresh = await ctx.gateway.read(state.key, request, () => ctx.reference(state.key));
  const tokens = fresh?.tokens;
  const hash = tokenHashOf(state.identity!.token);
  if (fresh === null || tokens === undefined || (tokens.current !== hash && tokens.pending?.hash !== hash)) {
    throw new TesseraError('WRITE_CONFLICT', 'A session moved from express-session collided with another session');
  }
  const { data: freshData, expiresAt: _expiresAt, ...fields } = fresh;
  Object.assign(state, { stored: true, fields, fieldsChanged: false, forceWrite: false, forceTouch: false, cookie: 'set', migrated: false, signedIn: false });
  data.rebase(freshData, changes);
  await removeCarried(state);
  if (changes.size > 0) await write(ctx, request, state, data, now);
}

/** Base delay of the backoff between compare-and-set attempts, in ms (doubling, jittered). */
const BACKOFF_BASE_MS = 1;
/** Longest delay between two attempts, in ms. */
const BACKOFF_CAP_MS = 64;

async function write(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number, changes = data.changes()): Promise<void> {
  if (await writeDelta(ctx, request, state, data, now, changes)) return;
  await writeWhole(ctx, request, state, data, now);
}

/**
 * Send only this request's data changes, for the store to apply on what it holds now (one
 * round trip, no version check, no retry), when they are plain sets and removals and nothing
 * else of the record changed. @returns false when the change needs compare-and-set instead.
 */
async function writeDelta(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number, changes: DataChanges): Promise<boolean> {
  if (!ctx.gateway.takesDeltas || state.fieldsChanged || state.forceWrite || !data.onlyPlainChanges || changes.size === 0) return false;
  const { set, remove } = data.delta(changes);
  checkStorable(data.view(), ctx.options.maxDataBytes);
  const lastSeenAt = Math.max(state.fields.lastSeenAt, now);
  const expiresAt = storeExpiry({ ...state.fields, lastSeenAt }, ctx.options, ctx.gateway.expiryGraceMs);
  // No turn to wait for: the store applies deltas in any order, since they touch different
  // keys or the last writer of a key wins, as with any session library.
  const version = await ctx.gateway.applyDelta(state.key, { set, remove, lastSeenAt, expiresAt }, request);
  if (version === 'unsupported') return false;
  ctx.writes.forget(state.key);
  if (version === null) {
    // Deleted meanwhile (signed out in another tab, revoked, expired): never resurrect it.
    ended(state, data);
    return true;
  }
  state.fields = { ...state.fields, version, lastSeenAt };
  state.forceTouch = false;
  data.markWritten();
  if (cookieMaxAge(ctx, request, state) !== null && state.identity !== null) state.cookie = 'set';
  return true;
}

/** Write the whole record with compare-and-set, re-applying this request's changes after a conflict. */
async function writeWhole(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number): Promise<void> {
  const changes = data.changes();
  const mine = state.fields;
  // Not a forced write alone (express-session's `resave`): that stores, but sends no cookie.
  const changed = changes.size > 0 || state.fieldsChanged;
  // Writes from this process take turns: each starts from what the one before it wrote, so
  // only writers in other processes can make the compare-and-set fail.
  await ctx.writes.run(state.key, async (last) => {
    if (last !== undefined && last.version > state.fields.version) rebase(state, data, last, mine, changes);
    for (let attempt = 0; attempt <= ctx.options.maxWriteRetries; attempt++) {
      const fields = { ...state.fields, version: state.fields.version + 1, lastSeenAt: Math.max(state.fields.lastSeenAt, now) };
      const record = recordOf(ctx, fields, data);
      if (await ctx.gateway.write(state.key, record, state.fields.version, request)) {
        stored(state, data, record);
        // A persistent cookie's expiry moves with the session's, when the session changed.
        if (changed && cookieMaxAge(ctx, request, state) !== null && state.identity !== null) state.cookie = 'set';
        return { result: undefined, wrote: record };
      }
      await backoff(attempt);
      const fresh = await ctx.gateway.read(state.key, request, () => ctx.reference(state.key));
      if (fresh === null) {
        // Deleted meanwhile (signed out in another tab, revoked, expired): never resurrect it.
        ended(state, data);
        return { result: undefined };
      }
      rebase(state, data, fresh, mine, changes);
    }
    throw new TesseraError('WRITE_CONFLICT', 'Too many concurrent writes to one session');
  });
}

async function touch(ctx: SessionContext, request: RequestInfo, state: RequestState, data: SessionHandle, now: number): Promise<void> {
  const lastSeenAt = Math.max(state.fields.lastSeenAt, now);
  const expiresAt = storeExpiry({ ...state.fields, lastSeenAt }, ctx.options, ctx.gateway.expiryGraceMs);
  if (await ctx.gateway.touch(state.key, lastSeenAt, expiresAt, request)) {
    state.fields = { ...state.fields, lastSeenAt };
    state.forceTouch = false;
    if (cookieMaxAge(ctx, request, state) !== null && state.identity !== null) state.cookie = 'set';
  } else {
    ended(state, data);
  }
}

/**
 * Take the fresher record's fields and data, and put this request's own changes back on top:
 * its data changes (see `SessionHandle.rebase`) and, if it changed them, its own fields.
 */
function rebase(state: RequestState, data: SessionHandle, fresh: SessionRecord, mine: RecordFields, changes: ReadonlyMap<string, unknown>): void {
  const { data: freshData, expiresAt: _expiresAt, ...fields } = fresh;
  if (state.fieldsChanged) {
    // This request's own field changes win over the fresher record's.
    delete fields.idleTimeoutMs;
    delete fields.cookieMaxAgeMs;
    fields.meta = mine.meta;
    if (mine.idleTimeoutMs !== undefined) fields.idleTimeoutMs = mine.idleTimeoutMs;
    if (mine.cookieMaxAgeMs !== undefined) fields.cookieMaxAgeMs = mine.cookieMaxAgeMs;
  }
  state.fields = fields;
  data.rebase(freshData, changes);
}

/** After a successful write: the state is the record as stored. */
function stored(state: RequestState, data: SessionHandle, record: SessionRecord): void {
  const { data: written, expiresAt: _expiresAt, ...fields } = record;
  state.stored = true;
  state.fields = fields;
  state.fieldsChanged = false;
  state.forceWrite = false;
  state.forceTouch = false;
  data.reset(written);
}

/** The session was deleted by someone else while this request ran. */
function ended(state: RequestState, data: SessionHandle): void {
  state.stored = false;
  state.cookie = 'clear';
  state.identity = null;
  data.reset({});
}

/** The record to store for these fields and data. */
function recordOf(ctx: SessionContext, fields: RecordFields, data: SessionHandle): SessionRecord {
  const snapshot = data.snapshot();
  checkStorable(snapshot, ctx.options.maxDataBytes);
  const record: SessionRecord = { ...fields, expiresAt: storeExpiry(fields, ctx.options, ctx.gateway.expiryGraceMs), data: snapshot };
  if (record.idleTimeoutMs === undefined) delete record.idleTimeoutMs;
  if (record.cookieMaxAgeMs === undefined) delete record.cookieMaxAgeMs;
  return record;
}

/** The lifetime of this session's persistent cookie in ms, or `null` for a browser-session cookie. */
export function cookieMaxAge(ctx: SessionContext, request: RequestInfo, state: RequestState): number | null {
  const own = state.fields.cookieMaxAgeMs;
  return own === undefined ? cookieOptionsOf(ctx.options.cookie, request).maxAge : own;
}

/** Wait a random time up to `BACKOFF_BASE_MS · 2^attempt` (at most `BACKOFF_CAP_MS`) ms. */
function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}
