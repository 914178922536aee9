/**
 * `request.session`: an object that behaves like @fastify/session's session (data as properties
 * and through `get`/`set`, `sessionId`, `cookie`, and `regenerate`/`destroy`/`reload`/`save`/
 * `touch`/`options`/`isModified`/`isSaved`, with callbacks or promises) on top of tessera's
 * {@link RequestSession}, plus tessera's own methods.
 *
 * A Proxy: reads and writes of data properties go through the session handle, which tracks what
 * changed, so the commit writes only changed sessions and merges concurrent requests.
 * @module
 */
import { Cookie, type CookieInit } from './cookie.js';
import type { Done, SessionHost, SessionMethods, SessionObject } from './types.js';

export type { SessionHost, SessionMethods, SessionObject };

const HOST = Symbol('tessera.host');
const TARGET = Symbol('tessera.target');

type Target = Record<string | symbol, unknown> & { [HOST]: SessionHost };

function hostOf(object: object): SessionHost {
  const target = (object as { [TARGET]?: Target })[TARGET] ?? (object as Target);
  return target[HOST];
}

/** Run a write the app asked for; a failure is the app's to handle (see {@link SessionHost.writeFailed}). */
async function appWrite(host: SessionHost, write: () => Promise<void>): Promise<void> {
  try {
    await write();
    host.writeFailed = false;
  } catch (error) {
    host.writeFailed = true;
    throw error;
  }
}

/** Run `task`; report to `callback` if given; return a promise that never goes unhandled. */
function settle(task: () => Promise<void>, callback: Done): Promise<void> {
  let promise: Promise<void>;
  try {
    promise = task();
  } catch (error) {
    promise = Promise.reject(error);
  }
  if (typeof callback === 'function') {
    promise.then(
      () => callback(null),
      (error: unknown) => callback(error),
    );
  }
  promise.catch(() => undefined);
  return promise;
}

const methods: Omit<SessionMethods, 'sessionId' | 'encryptedSessionId' | 'cookie'> & ThisType<SessionObject> = {
  get(key) {
    return hostOf(this).rs.data.get(key);
  },
  set(key, value) {
    hostOf(this).rs.data.set(key, value);
  },
  delete(key) {
    hostOf(this).rs.data.delete(key);
  },
  touch() {
    const host = hostOf(this);
    host.rs.touch();
    const cookie = this.cookie;
    if (cookie.originalMaxAge) {
      cookie.expires = new Date(Date.now() + cookie.originalMaxAge);
      host.rs.resendCookie();
    }
  },
  options(opts) {
    const host = hostOf(this);
    if (typeof opts !== 'object' || opts === null || Object.keys(opts).length === 0) return;
    host.overrides = { ...host.overrides, ...opts };
    this.cookie = new Cookie({ ...host.cookieInit, ...host.overrides }, { protocol: host.protocol });
  },
  regenerate(fields?: string[] | Done, callback?: Done) {
    const [keep, done] = typeof fields === 'function' ? [undefined, fields] : [fields, callback];
    return settle(async () => {
      const host = hostOf(this);
      const kept = new Map<string, unknown>();
      for (const key of Array.isArray(keep) ? keep : []) if (host.rs.data.has(key)) kept.set(key, host.rs.data.get(key));
      syncCookie(this);
      // The persistent cookie's lifetime (a "remember me" choice) carries over, as in @fastify/session.
      const lifetime = host.rs.cookieMaxAge;
      await host.rs.regenerate();
      if (lifetime !== host.rs.cookieMaxAge) {
        host.rs.cookieMaxAge = lifetime;
        host.rs.idleTimeoutOverride = lifetime ?? undefined;
      }
      for (const [key, value] of kept) host.rs.data.set(key, value);
      host.replace(createSessionObject(host));
      host.rs.forceWrite();
      await appWrite(host, () => host.rs.save());
    }, done);
  },
  destroy(callback) {
    return settle(async () => {
      const host = hostOf(this);
      await host.rs.destroy();
      host.replace(null);
    }, callback);
  },
  reload(callback) {
    return settle(async () => {
      const host = hostOf(this);
      // Never stored: nothing to load (the store is still asked), only unsaved changes to drop.
      if (host.rs.isNew) {
        await host.readStore();
        host.rs.data.reset({});
      } else {
        await host.rs.reload();
      }
      delete (this as Record<string, unknown>)['cookie'];
    }, callback);
  },
  save(callback) {
    return settle(async () => {
      const host = hostOf(this);
      syncCookie(this);
      host.rs.forceWrite();
      await appWrite(host, () => host.rs.save());
      host.markSaved();
    }, callback);
  },
  isModified() {
    return hostOf(this).rs.hasUnsavedChanges;
  },
  isSaved() {
    return hostOf(this).saved;
  },
  signIn(userId, options) {
    return hostOf(this).rs.signIn(userId, options);
  },
  signOut() {
    return hostOf(this).rs.signOut();
  },
  listSessions() {
    return hostOf(this).rs.listSessions();
  },
  revokeSession(id) {
    return hostOf(this).rs.revokeSession(id);
  },
  signOutOthers() {
    return hostOf(this).rs.signOutOthers();
  },
  signOutEverywhere() {
    return hostOf(this).rs.signOutEverywhere();
  },
  requireFresh(maxAge) {
    hostOf(this).rs.requireFresh(maxAge);
  },
};

const prototype: object = Object.create(Object.prototype, {
  ...Object.fromEntries(Object.entries(methods).map(([name, value]) => [name, { value, writable: true, configurable: true }])),
  sessionId: { get: function (this: object) { return hostOf(this).rs.id; }, configurable: true },
  encryptedSessionId: { get: function (this: object) { return hostOf(this).rs.id; }, configurable: true },
});

/** Names that are not session data. */
const RESERVED = new Set<string | symbol>([...Object.keys(methods), 'sessionId', 'encryptedSessionId', 'cookie']);

/**
 * The `request.session.cookie` of a host: a persistent cookie expires `maxAge` after the
 * session was last seen, so `cookie.maxAge` reads the time left; `originalMaxAge` is the lifetime.
 */
function cookieView(host: SessionHost): Cookie {
  const init = { ...host.cookieInit, ...host.overrides };
  const maxAge = host.rs.cookieMaxAge;
  const request = { protocol: host.protocol };
  if (maxAge === null) return new Cookie({ ...init, maxAge: null, expires: null }, request);
  const cookie = new Cookie({ ...init, maxAge: null, expires: new Date(host.rs.lastSeenAt + maxAge) }, request);
  cookie.originalMaxAge = maxAge;
  return cookie;
}

/**
 * Copy the app's changes of `request.session.cookie` (`maxAge`, `expires`, `options({ maxAge })`)
 * to the session: a persistent cookie's lifetime is also the session's idle timeout.
 */
export function syncCookie(session: SessionObject): void {
  const target = (session as unknown as { [TARGET]: Target })[TARGET];
  if (!Object.hasOwn(target, 'cookie')) return; // never looked at, so never changed
  const host = target[HOST];
  const cookie = target['cookie'];
  if (!(cookie instanceof Cookie)) return;
  let wanted = cookie.originalMaxAge;
  if (wanted === null && cookie.expires instanceof Date) wanted = cookie.expires.getTime() - Date.now();
  if (wanted === host.rs.cookieMaxAge || (wanted !== null && !(Number.isFinite(wanted) && wanted > 0))) return;
  host.rs.cookieMaxAge = wanted;
  host.rs.idleTimeoutOverride = wanted ?? undefined;
}

function ensureCookie(t: Target): void {
  if (!Object.hasOwn(t, 'cookie')) t['cookie'] = cookieView(t[HOST]);
}

const handler: ProxyHandler<Target> = {
  get(t, prop, receiver) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
      const data = t[HOST].rs.data;
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
      t['cookie'] = value instanceof Cookie ? value : new Cookie((value ?? {}) as CookieInit, { protocol: t[HOST].protocol });
      return true;
    }
    if (typeof prop === 'symbol' || RESERVED.has(prop)) return Reflect.set(t, prop, value, receiver);
    t[HOST].rs.data.set(prop, value);
    return true;
  },
  deleteProperty(t, prop) {
    if (typeof prop === 'symbol' || RESERVED.has(prop)) return Reflect.deleteProperty(t, prop);
    t[HOST].rs.data.delete(prop);
    return true;
  },
  has(t, prop) {
    if (prop === 'cookie') ensureCookie(t);
    if (typeof prop === 'string' && t[HOST].rs.data.has(prop)) return true;
    return Reflect.has(t, prop);
  },
  ownKeys(t) {
    ensureCookie(t);
    const own = Reflect.ownKeys(t).filter((key) => key !== HOST);
    return [...new Set(['cookie', ...t[HOST].rs.data.keys(), ...own])];
  },
  getOwnPropertyDescriptor(t, prop) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) {
      const data = t[HOST].rs.data;
      if (data.has(prop)) return { value: data.get(prop), writable: true, enumerable: true, configurable: true };
    } else if (prop === 'cookie') {
      ensureCookie(t);
    }
    return Reflect.getOwnPropertyDescriptor(t, prop);
  },
  defineProperty(t, prop, descriptor) {
    if (typeof prop === 'string' && !RESERVED.has(prop) && 'value' in descriptor) {
      t[HOST].rs.data.set(prop, descriptor.value);
      return true;
    }
    return Reflect.defineProperty(t, prop, descriptor);
  },
};

/** Create `request.session` for a host. */
export function createSessionObject(host: SessionHost): SessionObject {
  const target = Object.create(prototype) as Target;
  Object.defineProperty(target, HOST, { value: host, configurable: true });
  return new Proxy(target, handler) as unknown as SessionObject;
}
