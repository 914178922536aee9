/**
 * `session.Store` and `session.MemoryStore`: the express-session store API, for code that
 * extends it (`Store.call(this)` in old connect-* stores, `class X extends session.Store` in new
 * ones) or uses the memory store directly. The drop-in reaches any such store through
 * {@link LegacyStore}.
 * @module
 */
import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import type { Callback, ExpressSessionStore, StoredSession } from '../../store/legacy.js';

export type { Callback, ExpressSessionStore, StoredSession };

/** The constructor of `session.Store`: callable as a function (`Store.call(this)`) or extended as a class. */
export interface StoreConstructor {
  new (): EventEmitter;
  (this: EventEmitter): void;
  prototype: EventEmitter;
}

/**
 * `session.Store`: an EventEmitter base for express-session stores. A plain function so that
 * stores written before ES classes (`Store.call(this)`) keep working.
 */
export const Store = function Store(this: EventEmitter) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
inherits(Store, EventEmitter);

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** At most this many sessions; the oldest written is dropped beyond it. @default 10_000 */
  maxEntries?: number;
  /** The clock, ms since epoch. @default Date.now */
  now?: () => number;
}

/**
 * `session.MemoryStore`: express-session's in-memory store with its callback API (`get`, `set`,
 * `destroy`, `touch`, `all`, `clear`, `length`), but bounded and expiring, so it cannot leak
 * memory. For development and tests.
 */
export class MemoryStore extends (Store as unknown as new () => EventEmitter) implements ExpressSessionStore {
  readonly #sessions = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    super();
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Fetch a session by id; `null` when absent or expired. */
  get(sid: string, callback: Callback<StoredSession | null>): void {
    const session = this.#read(sid);
    defer(() => callback(null, session));
  }

  /** Store a session under an id. */
  set(sid: string, session: StoredSession, callback?: Callback): void {
    this.#sessions.delete(sid);
    this.#sessions.set(sid, JSON.stringify(session));
    while (this.#sessions.size > this.#maxEntries) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
    if (callback) defer(() => callback(null));
  }

  /** Delete a session. */
  destroy(sid: string, callback?: Callback): void {
    this.#sessions.delete(sid);
    if (callback) defer(() => callback(null));
  }

  /** Refresh a session's cookie (expiry). */
  touch(sid: string, session: StoredSession, callback?: Callback): void {
    const current = this.#read(sid);
    if (current !== null) this.set(sid, { ...current, cookie: session.cookie }, undefined);
    if (callback) defer(() => callback(null));
  }

  /** Every live session, by id. */
  all(callback: Callback<Record<string, StoredSession>>): void {
    const result: Record<string, StoredSession> = {};
    for (const sid of [...this.#sessions.keys()]) {
      const session = this.#read(sid);
      if (session !== null) result[sid] = session;
    }
    defer(() => callback(null, result));
  }

  /** Delete every session. */
  clear(callback?: Callback): void {
    this.#sessions.clear();
    if (callback) defer(() => callback(null));
  }

  /** The number of live sessions. */
  length(callback: Callback<number>): void {
    this.all((error, sessions) => callback(error, Object.keys(sessions ?? {}).length));
  }

  #read(sid: string): StoredSession | null {
    const text = this.#sessions.get(sid);
    if (text === undefined) return null;
    const session = JSON.parse(text) as StoredSession;
    const expires = session.cookie?.expires;
    if (expires !== undefined && expires !== null && new Date(expires).getTime() <= this.#now()) {
      this.#sessions.delete(sid);
      return null;
    }
    return session;
  }
}

function defer(fn: () => void): void {
  setImmediate(fn);
}
