/**
 * `LegacyStore`: any express-session store (connect-redis, connect-pg-simple, connect-mongo,
 * express-session's MemoryStore, ...) behind the tessera Store contract, so every existing
 * store works on day one. It also reads the sessions express-session wrote, for migration.
 *
 * How records are kept: under the hashed key, as `{ cookie: { expires, originalMaxAge }, tessera:
 * <record> }`, so the wrapped store computes its TTL from `cookie.expires` as usual. The per-user
 * index is one extra entry per user (`<indexPrefix><userId>`) holding the user's keys.
 *
 * Limits (documented in the README): compare-and-set and the index are atomic within one
 * process only (a per-key queue), because the callback API has no conditional write. For
 * sessions shared by several processes, use a native tessera store.
 * @module
 */
import { storeUnavailable } from '../core/errors.js';
import {
  cloneRecord,
  isSessionRecord,
  undecodableRecord,
  type DeleteByUserOptions,
  type SessionRecord,
  type SetOptions,
  type Store,
  type UserSessionEntry,
} from './types.js';

/** Node-style callback. */
export type Callback<T = void> = (error?: unknown, value?: T) => void;

/**
 * The `cookie` object of a stored express-session session (express-session's `cookie.data`).
 * It has no index signature, so express-session's own `Cookie` type fits it.
 */
export interface StoredCookie {
  expires?: string | Date | null | undefined;
  originalMaxAge?: number | null | undefined;
  httpOnly?: boolean | undefined;
  path?: string | undefined;
  domain?: string | undefined;
  secure?: boolean | 'auto' | undefined;
  sameSite?: boolean | string | undefined;
  priority?: string | undefined;
  partitioned?: boolean | undefined;
}

/** A session as express-session stores keep it: data plus a `cookie` object. */
export interface StoredSession {
  cookie?: StoredCookie | undefined;
  [key: string]: unknown;
}

/**
 * The least a store method is given or gives back: an object with an optional `cookie`. The
 * store API is typed with it (rather than {@link StoredSession}) so that stores typed with
 * `@types/express-session` (whose `SessionData` has no index signature) fit
 * {@link ExpressSessionStore} without a cast.
 */
export interface SessionShape {
  cookie?: StoredCookie | undefined;
}

/** The API every express-session store has (callback style; some also return promises). */
export interface ExpressSessionStore {
  /** Calls back with the session stored under `sid`, or `null`/nothing when there is none. */
  get(sid: string, callback: Callback<SessionShape | null>): unknown;
  set(sid: string, session: SessionShape, callback?: Callback): unknown;
  destroy(sid: string, callback?: Callback): unknown;
  touch?(sid: string, session: SessionShape, callback?: Callback): unknown;
  all?(callback: Callback<SessionShape[] | Record<string, SessionShape> | null>): unknown;
  clear?(callback?: Callback): unknown;
  length?(callback: Callback<number>): unknown;
}

/** Options of {@link LegacyStore}. */
export interface LegacyStoreOptions {
  /** Prefix of the per-user index entries. @default 'tessera-user:' */
  indexPrefix?: string;
  /** The clock, ms since epoch. @default Date.now */
  now?: () => number;
}

interface IndexEntry extends StoredSession {
  tesseraUserIndex: string[];
}

/** Wraps an express-session store in the tessera Store contract. */
export class LegacyStore implements Store {
  /** The wrapped store. */
  readonly store: ExpressSessionStore;
  readonly #indexPrefix: string;
  readonly #now: () => number;
  readonly #queues = new Map<string, Promise<unknown>>();
  #closed = false;
  /**
   * No grace past a session's deadline: the wrapped store's entries are read as express-session
   * sessions (by express-session itself during a migration, by other tools), so they expire when
   * the session does. A session that runs out is then reported as `stale_cookie`, not `expired`.
   */
  readonly expiryGraceMs = 0;

  constructor(store: ExpressSessionStore, options: LegacyStoreOptions = {}) {
    this.store = store;
    this.#indexPrefix = options.indexPrefix ?? 'tessera-user:';
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<SessionRecord | null> {
    let entry: StoredSession | null;
    try {
      entry = await this.#call<StoredSession | null>('get', key);
    } catch (error) {
      // The wrapped store could not parse what it holds (connect-redis and most others
      // JSON.parse inside get): corrupt data, not an outage.
      if (error instanceof Error && error.cause instanceof SyntaxError) return undecodableRecord();
      throw error;
    }
    if (entry === null || entry === undefined) return null;
    if (typeof entry !== 'object' || !('tessera' in entry)) return undecodableRecord();
    const record = entry['tessera'];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return undecodableRecord();
    // The engine checks every field; only the expiry matters here.
    if (isSessionRecord(record) && record.expiresAt <= this.#now()) return null;
    return cloneRecord(record as SessionRecord);
  }

  async set(key: string, record: SessionRecord, options: SetOptions = {}): Promise<boolean> {
    return this.#serial(key, async () => {
      // A create writes without reading first, as express-session does: the callback API has no
      // conditional write, some stores never call back for a key they do not hold, and keys of
      // new sessions are random (128 bits) or, for migrated ones, derived from the old session,
      // so that two creates of one key write the same session.
      if (options.expectVersion === null) {
        await this.#call('set', key, wrap(record));
        if (record.userId !== null) await this.#index(record.userId, key, record.expiresAt);
        return true;
      }
      const current = options.expectVersion === undefined ? undefined : await this.get(key);
      if (typeof options.expectVersion === 'number' && current?.version !== options.expectVersion) return false;
      const previousUser = current === undefined ? (await this.get(key))?.userId ?? null : current?.userId ?? null;
      await this.#call('set', key, wrap(record));
      if (previousUser !== null && previousUser !== record.userId) await this.#unindex(previousUser, [key]);
      if (record.userId !== null) await this.#index(record.userId, key, record.expiresAt);
      return true;
    });
  }

  async delete(key: string): Promise<void> {
    await this.#serial(key, async () => {
      const current = await this.get(key);
      await this.#call('destroy', key);
      if (current?.userId) await this.#unindex(current.userId, [key]);
    });
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    return this.#serial(key, async () => {
      const current = await this.get(key);
      if (current === null || current.version === -1) return false;
      // The record holds the session's times, so it is written again. The store's own touch
      // then runs too (it may keep its own bookkeeping, and its errors must be seen).
      const entry = wrap({ ...current, lastSeenAt, expiresAt });
      await this.#call('set', key, entry);
      if (typeof this.store.touch === 'function') await this.#call('touch', key, entry);
      return true;
    });
  }

  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const keys = await this.#indexKeys(userId);
    const entries: UserSessionEntry[] = [];
    for (const key of keys) {
      const record = await this.get(key);
      if (isSessionRecord(record) && record.userId === userId) entries.push({ key, record });
    }
    return entries;
  }

  async deleteByUser(userId: string, options: DeleteByUserOptions = {}): Promise<number> {
    let count = 0;
    for (const { key } of await this.listByUser(userId)) {
      if (key === options.exceptKey) continue;
      await this.delete(key);
      count++;
    }
    return count;
  }

  /**
   * Mark this adapter closed: every later call rejects with `STORE_UNAVAILABLE`, as the Store
   * contract asks. The wrapped store is left open: it (and its client) belongs to the application,
   * which may still use it elsewhere and closes it itself.
   */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * The entry the wrapped store holds under a raw express-session id, as it holds it (for
   * migration; see the Express adapter's `migration.ts`). `null` for ids in tessera's part of
   * the key space (index entries), which must never be read as an express-session session.
   */
  async readRaw(sid: string): Promise<StoredSession | null> {
    if (this.#isOwnKey(sid)) return null;
    const entry = await this.#call<StoredSession | null>('get', sid);
    return entry === null || entry === undefined || typeof entry !== 'object' ? null : entry;
  }

  /** Delete the entry under a raw express-session id (never one of tessera's index entries). */
  async destroyRaw(sid: string): Promise<void> {
    if (this.#isOwnKey(sid)) return;
    await this.#call('destroy', sid);
  }

  /** Whether an id is in tessera's part of the key space (index entries). */
  #isOwnKey(sid: string): boolean {
    return sid.startsWith(this.#indexPrefix);
  }

  async #indexKeys(userId: string): Promise<string[]> {
    const entry = await this.#call<IndexEntry | null>('get', this.#indexPrefix + userId);
    return Array.isArray(entry?.tesseraUserIndex) ? entry.tesseraUserIndex.filter((k) => typeof k === 'string') : [];
  }

  async #index(userId: string, key: string, expiresAt: number): Promise<void> {
    await this.#serial(this.#indexPrefix + userId, async () => {
      const keys = new Set(await this.#indexKeys(userId));
      keys.add(key);
      await this.#writeIndex(userId, [...keys], expiresAt);
    });
  }

  async #unindex(userId: string, removed: string[]): Promise<void> {
    await this.#serial(this.#indexPrefix + userId, async () => {
      const keys = (await this.#indexKeys(userId)).filter((k) => !removed.includes(k));
      if (keys.length === 0) await this.#call('destroy', this.#indexPrefix + userId);
      else await this.#writeIndex(userId, keys, undefined);
    });
  }

  async #writeIndex(userId: string, keys: string[], atLeast: number | undefined): Promise<void> {
    // The index lives as long as the longest session could (12 h default absolute timeout),
    // and is pruned of dead keys whenever it is rewritten.
    const live: string[] = [];
    let expiresAt = atLeast ?? 0;
    for (const k of keys) {
      const record = await this.get(k);
      if (record === null || record.version === -1) continue;
      live.push(k);
      expiresAt = Math.max(expiresAt, record.expiresAt);
    }
    if (live.length === 0) {
      await this.#call('destroy', this.#indexPrefix + userId);
      return;
    }
    const entry: IndexEntry = { cookie: cookieFor(expiresAt, this.#now()), tesseraUserIndex: live };
    await this.#call('set', this.#indexPrefix + userId, entry);
  }

  /** Run operations on one key one after another, so read-check-write is atomic in-process. */
  async #serial<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    }
  }

  /** Call a callback-style method (that may also return a promise) as a promise. */
  #call<T>(method: 'get' | 'set' | 'destroy' | 'touch', ...args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(storeUnavailable(new Error('the LegacyStore was closed')));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (error?: unknown, value?: unknown): void => {
        if (settled) return;
        settled = true;
        // As express-session: a `get` failing with ENOENT (file stores) means "not found".
        if (error && method === 'get' && (error as { code?: unknown }).code === 'ENOENT') resolve(null as T);
        else if (error) reject(storeUnavailable(error));
        else resolve((value ?? null) as T);
      };
      try {
        const fn = this.store[method] as (...a: unknown[]) => unknown;
        const result = fn.call(this.store, ...args, done);
        if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
          // Stores that call back *and* return a promise: the callback wins; a promise-only
          // store settles one macrotask later, after any callback it schedules.
          (result as Promise<unknown>).then(
            (value) => setImmediate(() => done(null, value)),
            (error: unknown) => done(error ?? new Error('store failed')),
          );
        }
      } catch (error) {
        done(error ?? new Error('store failed'));
      }
    });
  }
}

/**
 * A record as an express-session entry. Its `cookie.expires` is the record's `expiresAt`, which
 * is the session's deadline (this store asks for no grace), as express-session would write it:
 * the wrapped store expires it when the session ends, and its entry looks right to other tools.
 */
function wrap(record: SessionRecord): StoredSession {
  return { cookie: cookieFor(record.expiresAt, record.lastSeenAt), tessera: record };
}

function cookieFor(expiresAt: number, now: number): StoredCookie {
  return { expires: new Date(expiresAt).toISOString(), originalMaxAge: Math.max(0, expiresAt - now), httpOnly: true, path: '/' };
}
