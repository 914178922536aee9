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
import { Cookie, type CookieInit } from './cookie.js';
import { Session } from './session-object.js';

export type { Callback, ExpressSessionStore, StoredSession };

/** What `session.Store`'s prototype gives every store, as express-session's does. */
export interface StoreMethods {
  /**
   * Load a session by id and hand it over as a detached session object (data properties and a
   * `cookie`), or nothing when there is none. For entries tessera wrote, the app's data.
   */
  load(sid: string, callback: (error?: unknown, session?: Record<string, unknown>) => void): void;
  /** Turn a stored entry into a session object: its `cookie` becomes a {@link Cookie}. */
  createSession(req: { sessionID?: string }, stored: StoredSession): Record<string, unknown>;
}

/** The constructor of `session.Store`: callable as a function (`Store.call(this)`) or extended as a class. */
export interface StoreConstructor {
  new (): EventEmitter & StoreMethods;
  (this: EventEmitter): void;
  prototype: EventEmitter & StoreMethods;
}

/**
 * `session.Store`: an EventEmitter base for express-session stores. A plain function so that
 * stores written before ES classes (`Store.call(this)`) keep working.
 */
export const Store = function Store(this: EventEmitter) {
  EventEmitter.call(this);
} as unknown as StoreConstructor;
inherits(Store, EventEmitter);

Store.prototype.load = function load(this: ExpressSessionStore & StoreMethods, sid, callback) {
  this.get(sid, (error, stored) => {
    if (error) {
      callback(error);
      return;
    }
    if (stored === null || stored === undefined) {
      callback();
      return;
    }
    callback(undefined, this.createSession({ sessionID: sid }, stored as StoredSession));
  });
};

Store.prototype.createSession = function createSession(_req, stored) {
  // An entry tessera wrote keeps the app's data inside its record.
  const inner = (stored as { tessera?: { data?: Record<string, unknown> } }).tessera?.data;
  const data: Record<string, unknown> = inner !== undefined ? { ...inner } : { ...stored };
  const cookie = (stored.cookie ?? {}) as CookieInit & { expires?: string | Date | null };
  const expires = typeof cookie.expires === 'string' ? new Date(cookie.expires) : cookie.expires;
  const session = Object.create(Session.prototype) as Record<string, unknown>;
  Object.assign(session, data);
  Object.defineProperty(session, 'cookie', {
    value: new Cookie({ ...cookie, expires: expires ?? null, originalMaxAge: cookie.originalMaxAge ?? null }),
    writable: true,
    enumerable: true,
    configurable: true,
  });
  return session;
};

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
    this.#write(sid, session);
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
    if (current !== null) this.#write(sid, { ...current, cookie: session.cookie });
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

  /** Keep a session as the most recent entry, dropping the oldest beyond `maxEntries`. */
  #write(sid: string, session: StoredSession): void {
    this.#sessions.delete(sid);
    this.#sessions.set(sid, JSON.stringify(session));
    while (this.#sessions.size > this.#maxEntries) {
      const oldest = this.#sessions.keys().next().value as string;
      this.#sessions.delete(oldest);
    }
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
