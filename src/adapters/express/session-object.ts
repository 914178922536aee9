/**
 * `req.session`: an object that behaves like express-session's Session (data as properties,
 * `id`, `cookie`, and the `regenerate`/`destroy`/`reload`/`save`/`touch` methods with callbacks
 * or promises) on top of tessera's {@link RequestSession}, plus tessera's own methods.
 *
 * It is a Proxy: reads and writes of data properties go through the session handle, which
 * tracks what changed, so commit writes only changed sessions and merges concurrent requests.
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
}

type Done = ((error?: unknown) => void) | undefined;

/** The methods of `req.session`. Data keys with these names are shadowed, as in express-session. */
export interface SessionMethods {
  /** The session id: the store key (a hash; never the cookie token). */
  readonly id: string;
  /** The cookie view: change `maxAge` or `expires` for a persistent cookie. */
  cookie: Cookie;
  /** Replace the session with a new, empty one under a new token. */
  regenerate(callback?: Done): Promise<void>;
  /** Delete the session and clear the cookie; `req.session` is removed. */
  destroy(callback?: Done): Promise<void>;
  /** Load the session again from the store, dropping unsaved changes. */
  reload(callback?: Done): Promise<void>;
  /** Write the session now (it is also written automatically at the end of the response). */
  save(callback?: Done): Promise<void>;
  /** Reset the cookie's max age and extend the idle deadline. */
  touch(): SessionObject;
  /** Reset the cookie's max age. */
  resetMaxAge(): SessionObject;
  /** tessera: sign a user in (new token, user index, session limit). */
  signIn(userId: string, options?: { keepData?: boolean }): Promise<void>;
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

function bindingOf(target: object): SessionBinding {
  const binding = (target as { [BINDING]?: SessionBinding })[BINDING];
  if (binding === undefined) throw new TesseraError('SESSION_ENDED', 'This session object is no longer active');
  return binding;
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

/** The prototype shared by every `req.session`: express-session's methods and tessera's. */
const methods: Omit<SessionMethods, 'id' | 'cookie'> & ThisType<SessionObject> = {
  regenerate(callback) {
    const b = bindingOf(this);
    return settle(
      b.rs.destroy().then(() => {
        b.setSession(createSessionObject(b));
      }),
      callback,
    );
  },
  destroy(callback) {
    const b = bindingOf(this);
    return settle(
      b.rs.destroy().then(() => b.setSession(undefined)),
      callback,
    );
  },
  reload(callback) {
    const b = bindingOf(this);
    return settle(
      b.rs.reload().then((found) => {
        if (!found) throw new Error('failed to load session');
        this.cookie = cookieView(b);
      }),
      callback,
    );
  },
  save(callback) {
    const b = bindingOf(this);
    return settle(
      Promise.resolve().then(() => {
        syncCookie(this);
        // As express-session's save(): write now even if unchanged (a new, empty session too).
        // The end of the request then has nothing left to write.
        b.rs.forceWrite();
        return b.rs.save();
      }),
      callback,
    );
  },
  touch() {
    bindingOf(this).rs.touch();
    return this.resetMaxAge();
  },
  resetMaxAge() {
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
 */
export function syncCookie(session: SessionObject): void {
  const b = bindingOf(session);
  // Never made, so never changed: the session's cookie settings stand as they are.
  const target = (session as unknown as { [TARGET]?: Target })[TARGET];
  if (target !== undefined && !Object.hasOwn(target, 'cookie')) return;
  const cookie = session.cookie;
  const wanted = cookie instanceof Cookie ? cookie.originalMaxAge : null;
  if (wanted === b.rs.cookieMaxAge) return;
  if (wanted !== null && !(Number.isFinite(wanted) && wanted > 0)) return;
  b.rs.cookieMaxAge = wanted;
  b.rs.idleTimeoutOverride = wanted ?? undefined;
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

type Target = Record<string | symbol, unknown> & { [BINDING]: SessionBinding };

/**
 * `cookie` is made on first use: most requests never look at it. Until then the target has no
 * `cookie` property, so every trap that can see it calls this first.
 */
function ensureCookie(t: Target): void {
  if (!Object.hasOwn(t, 'cookie')) t['cookie'] = cookieView(t[BINDING]);
}


/**
 * The traps of every `req.session` Proxy: one shared handler (no closures per request); each
 * trap finds the request's data through the target's binding.
 */
const handler: ProxyHandler<Target> = {
  get(t, prop, receiver) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
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
    t[BINDING].rs.data.set(prop, value);
    return true;
  },
  deleteProperty(t, prop) {
    if (typeof prop === 'symbol' || RESERVED.has(prop)) {
      if (prop === 'cookie') ensureCookie(t);
      return Reflect.deleteProperty(t, prop);
    }
    t[BINDING].rs.data.delete(prop);
    return true;
  },
  has(t, prop) {
    if (prop === 'cookie') ensureCookie(t);
    return (typeof prop === 'string' && t[BINDING].rs.data.has(prop)) || Reflect.has(t, prop);
  },
  ownKeys(t) {
    ensureCookie(t);
    const own = Reflect.ownKeys(t).filter((key) => key !== BINDING);
    return [...new Set(['cookie', ...t[BINDING].rs.data.keys(), ...own])];
  },
  getOwnPropertyDescriptor(t, prop) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
      const data = t[BINDING].rs.data;
      if (data.has(prop)) return { value: data.get(prop), writable: true, enumerable: true, configurable: true };
    } else if (prop === 'cookie') {
      ensureCookie(t);
    }
    return Reflect.getOwnPropertyDescriptor(t, prop);
  },
  defineProperty(t, prop, descriptor) {
    if (typeof prop === 'string' && !RESERVED.has(prop) && 'value' in descriptor) {
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
