/**
 * `req.session`: an object that behaves like express-session's Session (data as properties,
 * `id`, `cookie`, and the `regenerate`/`destroy`/`reload`/`save`/`touch` methods with callbacks
 * or promises) on top of tessera's {@link RequestSession}, plus tessera's own methods.
 *
 * It is a Proxy: reads and writes of data properties go through the session handle, which
 * tracks what changed, so commit writes only changed sessions and merges concurrent requests.
 *
 * After `destroy()` or `regenerate()` replaced it, an object is *ended*: it keeps the data it
 * had (passport reads the previous session to carry fields over), but writing to it or calling
 * its methods throws `SESSION_ENDED`, since nothing done to it could reach a session any more.
 * @module
 */
import type { RequestSession } from '../../core/request-session.js';
import type { SessionInfo } from '../../core/users.js';
import { TesseraError } from '../../core/errors.js';
import { Cookie, type CookieInit } from './cookie.js';

/** What the session object needs from the middleware. */
export interface SessionBinding {
  readonly rs: RequestSession;
  /** Cookie attributes for `req.session.cookie`. */
  readonly cookieInit: CookieInit;
  readonly now: () => number;
  /** Make `object` the request's `req.session` (or remove it with `undefined`). */
  setSession(object: SessionObject | undefined): void;
  /** The app saved the session itself: the end of the request writes only what changed since. */
  markSaved(): void;
}

type Done = ((error?: unknown) => void) | undefined;

/** The methods of `req.session`. Data keys with these names are shadowed, as in express-session. */
export interface SessionMethods {
  /** The session id: also the store key (never the cookie's token). */
  readonly id: string;
  /** The cookie view: change `maxAge` or `expires` for a persistent cookie. */
  cookie: Cookie;
  /** Replace the session with a new, empty one under a new id; `req.session` is the new one. */
  regenerate(callback?: Done): Promise<void>;
  /** Delete the session and clear the cookie; `req.session` is removed. */
  destroy(callback?: Done): Promise<void>;
  /** Load the session again from the store, dropping unsaved changes. */
  reload(callback?: Done): Promise<void>;
  /** Write the session now; the end of the request then writes only what changed after. */
  save(callback?: Done): Promise<void>;
  /** Reset the cookie's max age and extend the idle deadline. */
  touch(): SessionObject;
  /** Reset the cookie's max age. */
  resetMaxAge(): SessionObject;
  /** tessera: sign a user in (new id and token, user index, session limit). */
  signIn(userId: string, options?: { keepData?: boolean | readonly string[] }): Promise<void>;
  /** tessera: sign out (delete, clear the cookie, `Clear-Site-Data`). */
  signOut(): Promise<void>;
  /** tessera: the signed-in user's sessions. */
  listSessions(): Promise<SessionInfo[]>;
  /** tessera: end one of the user's sessions by id. */
  revokeSession(id: string): Promise<boolean>;
  /** tessera: end the user's other sessions. */
  signOutOthers(): Promise<number>;
  /** tessera: end all the user's sessions, this one included. */
  signOutEverywhere(): Promise<number>;
  /** tessera: throws `NOT_FRESH` unless the user signed in within `maxAge` ms. */
  requireFresh(maxAge: number): void;
}

/** `req.session`: data properties plus {@link SessionMethods}. */
export type SessionObject = SessionMethods & Record<string, unknown>;

/**
 * Where a session object keeps its binding: a non-enumerable symbol property of the Proxy's
 * target, hidden from `ownKeys`. (A WeakMap costs two entries per request, and WeakMap entries
 * of short-lived keys make every young-generation GC pass slower.)
 */
const BINDING = Symbol('tessera.binding');
/** Read through the Proxy, gives its target (to look at the target without the traps' side effects). */
const TARGET = Symbol('tessera.target');
/** On an ended object: the data it had when it was replaced. */
const ENDED = Symbol('tessera.ended');

type Target = Record<string | symbol, unknown> & { [BINDING]: SessionBinding; [ENDED]?: Record<string, unknown> };

function ended(): never {
  throw new TesseraError('SESSION_ENDED', 'This req.session was replaced by destroy() or regenerate(); use the new req.session');
}

/** The binding of a live session object; throws `SESSION_ENDED` for an ended one. */
function bindingOf(object: object): SessionBinding {
  const target = (object as { [TARGET]?: Target })[TARGET] ?? (object as Target);
  if (target[ENDED] !== undefined) ended();
  const binding = target[BINDING];
  if (binding === undefined) ended();
  return binding;
}

/** Mark an object ended, keeping a copy of the data it had. */
function end(object: SessionObject, data: Record<string, unknown>): void {
  const target = (object as unknown as { [TARGET]: Target })[TARGET];
  Object.defineProperty(target, ENDED, { value: data, configurable: true });
}

/** Run `task`; report to `callback` if given; return a promise that never goes unhandled. */
function settle(task: Promise<void>, callback: Done): Promise<void> {
  if (typeof callback === 'function') {
    task.then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }
  task.catch(() => undefined);
  return task;
}

/** Run a method's work on the live binding, as a promise (a `SESSION_ENDED` rejects it). */
function run(object: object, work: (b: SessionBinding) => Promise<void>, callback: Done): Promise<void> {
  let task: Promise<void>;
  try {
    task = work(bindingOf(object));
  } catch (error) {
    task = Promise.reject(error);
  }
  return settle(task, callback);
}

/** The prototype shared by every `req.session`: express-session's methods and tessera's. */
const methods: Omit<SessionMethods, 'id' | 'cookie'> & ThisType<SessionObject> = {
  regenerate(callback) {
    return run(this, async (b) => {
      const data = b.rs.data.snapshot();
      await b.rs.regenerate();
      end(this, data);
      b.setSession(createSessionObject(b));
    }, callback);
  },
  destroy(callback) {
    return run(this, async (b) => {
      const data = b.rs.data.snapshot();
      await b.rs.destroy();
      end(this, data);
      b.setSession(undefined);
    }, callback);
  },
  reload(callback) {
    return run(this, async (b) => {
      if (!(await b.rs.reload())) throw new Error('failed to load session');
      this.cookie = cookieView(b);
    }, callback);
  },
  save(callback) {
    return run(this, async (b) => {
      if (syncCookie(this) === 'expired') {
        await b.rs.destroy();
        b.rs.clearCookie();
      } else {
        // As express-session's save(): write now even if unchanged (a new, empty session too).
        b.rs.forceWrite();
        await b.rs.save();
      }
      b.markSaved();
    }, callback);
  },
  touch() {
    bindingOf(this).rs.touch();
    return this.resetMaxAge();
  },
  resetMaxAge() {
    bindingOf(this);
    if (this.cookie.originalMaxAge !== null) this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  },
  signIn(userId, options) {
    return bindingOf(this).rs.signIn(userId, options);
  },
  signOut() {
    return bindingOf(this).rs.signOut();
  },
  listSessions() {
    return bindingOf(this).rs.listSessions();
  },
  revokeSession(id) {
    return bindingOf(this).rs.revokeSession(id);
  },
  signOutOthers() {
    return bindingOf(this).rs.signOutOthers();
  },
  signOutEverywhere() {
    return bindingOf(this).rs.signOutEverywhere();
  },
  requireFresh(maxAge) {
    bindingOf(this).rs.requireFresh(maxAge);
  },
};

const prototype: object = Object.create(Object.prototype, {
  ...Object.fromEntries(
    Object.entries(methods).map(([name, value]) => [name, { value, writable: true, configurable: true }]),
  ),
  id: { get: function (this: object) { return bindingOf(this).rs.id; }, configurable: true },
});

/**
 * `session.Session`: express-session exports the constructor of `req.session`. Here the
 * middleware creates those objects, so the constructor only throws; its `prototype` is theirs,
 * so `req.session instanceof session.Session` holds and methods added to the prototype are seen.
 */
export function Session(this: unknown): never {
  throw new TypeError('tessera: req.session objects are created by the session middleware');
}
Object.defineProperty(prototype, 'constructor', { value: Session, writable: true, configurable: true });
Session.prototype = prototype;

/**
 * Names that are not session data. Deliberately not `userId` or `user`: express-session apps
 * store their own under those names (tessera's signed-in user is `req.tessera.userId`).
 */
const RESERVED = new Set<string | symbol>([...Object.keys(methods), 'id', 'cookie']);

/**
 * Copy the app's changes of `req.session.cookie` (a new `maxAge` or `expires`) to the session:
 * a persistent cookie's lifetime also becomes the session's idle timeout.
 * @returns `'expired'` when the app gave the cookie an expiry in the past (`expires = new
 * Date(0)`, a negative `maxAge`): the session is then to end, and the browser to drop its cookie.
 */
export function syncCookie(session: SessionObject): 'expired' | undefined {
  const b = bindingOf(session);
  // Never made, so never changed: the session's cookie settings stand as they are.
  const target = (session as unknown as { [TARGET]?: Target })[TARGET];
  if (target !== undefined && !Object.hasOwn(target, 'cookie')) return undefined;
  const cookie = session.cookie;
  const wanted = cookie instanceof Cookie ? cookie.originalMaxAge : null;
  if (wanted === b.rs.cookieMaxAge) return undefined;
  if (wanted !== null && Number.isFinite(wanted) && wanted <= 0) return 'expired';
  if (wanted !== null && !(Number.isFinite(wanted) && wanted > 0)) return undefined;
  b.rs.cookieMaxAge = wanted;
  b.rs.idleTimeoutOverride = wanted ?? undefined;
  return undefined;
}

/**
 * The `req.session.cookie` of a binding. A persistent cookie expires `maxAge` after the session
 * was last seen (when tessera last sent it), so `cookie.maxAge` reads the time left, as
 * express-session's does; `originalMaxAge` is the full lifetime.
 */
function cookieView(binding: SessionBinding): Cookie {
  const maxAge = binding.rs.cookieMaxAge;
  if (maxAge === null) return new Cookie({ ...binding.cookieInit, maxAge: null }, binding.now);
  return new Cookie(
    { ...binding.cookieInit, expires: new Date(binding.rs.lastSeenAt + maxAge), originalMaxAge: maxAge },
    binding.now,
  );
}

/**
 * `cookie` is made on first use: most requests never look at it. Until then the target has no
 * `cookie` property, so every trap that can see it calls this first.
 */
function ensureCookie(t: Target): void {
  if (!Object.hasOwn(t, 'cookie')) t['cookie'] = cookieView(t[BINDING]);
}

/**
 * The traps of every `req.session` Proxy: one shared handler (no closures per request); each
 * trap finds the request's data through the target's binding (or, once ended, the data kept).
 */
const handler: ProxyHandler<Target> = {
  get(t, prop, receiver) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
      const kept = t[ENDED];
      if (kept !== undefined) return Object.hasOwn(kept, prop) ? kept[prop] : Reflect.get(t, prop, receiver);
      const data = t[BINDING].rs.data;
      if (data.has(prop)) return data.get(prop);
    } else if (prop === 'cookie') {
      ensureCookie(t);
    } else if (prop === TARGET) {
      return t;
    }
    return Reflect.get(t, prop, receiver);
  },
  set(t, prop, value, receiver) {
    if (prop === 'cookie') {
      t['cookie'] = value instanceof Cookie ? value : new Cookie((value ?? {}) as CookieInit, t[BINDING].now);
      return true;
    }
    if (typeof prop === 'symbol' || RESERVED.has(prop)) return Reflect.set(t, prop, value, receiver);
    if (t[ENDED] !== undefined) ended();
    t[BINDING].rs.data.set(prop, value);
    return true;
  },
  deleteProperty(t, prop) {
    if (typeof prop === 'symbol' || RESERVED.has(prop)) {
      if (prop === 'cookie') ensureCookie(t);
      return Reflect.deleteProperty(t, prop);
    }
    if (t[ENDED] !== undefined) ended();
    t[BINDING].rs.data.delete(prop);
    return true;
  },
  has(t, prop) {
    if (prop === 'cookie') ensureCookie(t);
    const kept = t[ENDED];
    if (typeof prop === 'string' && (kept !== undefined ? Object.hasOwn(kept, prop) : t[BINDING].rs.data.has(prop))) return true;
    return Reflect.has(t, prop);
  },
  ownKeys(t) {
    ensureCookie(t);
    const own = Reflect.ownKeys(t).filter((key) => key !== BINDING && key !== ENDED);
    const kept = t[ENDED];
    return [...new Set(['cookie', ...(kept !== undefined ? Object.keys(kept) : t[BINDING].rs.data.keys()), ...own])];
  },
  getOwnPropertyDescriptor(t, prop) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
      const kept = t[ENDED];
      if (kept !== undefined) {
        if (Object.hasOwn(kept, prop)) return { value: kept[prop], writable: true, enumerable: true, configurable: true };
      } else {
        const data = t[BINDING].rs.data;
        if (data.has(prop)) return { value: data.get(prop), writable: true, enumerable: true, configurable: true };
      }
    } else if (prop === 'cookie') {
      ensureCookie(t);
    }
    return Reflect.getOwnPropertyDescriptor(t, prop);
  },
  defineProperty(t, prop, descriptor) {
    if (typeof prop === 'string' && !RESERVED.has(prop) && 'value' in descriptor) {
      if (t[ENDED] !== undefined) ended();
      t[BINDING].rs.data.set(prop, descriptor.value);
      return true;
    }
    return Reflect.defineProperty(t, prop, descriptor);
  },
};

/** Create `req.session` for a binding. */
export function createSessionObject(binding: SessionBinding): SessionObject {
  const target = Object.create(prototype) as Target;
  Object.defineProperty(target, BINDING, { value: binding, configurable: true });
  return new Proxy(target, handler) as unknown as SessionObject;
}
