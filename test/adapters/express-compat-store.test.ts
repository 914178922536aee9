/**
 * express-session compatibility of `tessera/express`: `session.Store` (called the old way and
 * extended as a class), `session.MemoryStore`, `session.Cookie`, `session.Session`, and stores
 * of every style (express-session's own MemoryStore, callback, synchronous, promise) as the
 * app's store, through real HTTP against Express 5 apps.
 */
import { EventEmitter } from 'node:events';
import { inherits } from 'node:util';
import expressSession from 'express-session';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { type ExpressSessionStore } from '../../src/adapters/express/index.js';
import type { Callback, StoredSession } from '../../src/store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../src/store/memory.js';
import type { Store as TesseraStore } from '../../src/store/types.js';
import { TESSERA_VALUE, callback, cookieOf, createApp, isClearing, sess, sessionCookie, sessionId } from './express-helpers.js';

/** A plain callback store over a Map of JSON strings, calling back on a later tick. */
function callbackStore(): ExpressSessionStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  const later = (fn: () => void) => setImmediate(fn);
  return {
    data,
    get(sid, cb) {
      const text = data.get(sid);
      later(() => cb(null, text === undefined ? null : (JSON.parse(text) as StoredSession)));
    },
    set(sid, value, cb) {
      data.set(sid, JSON.stringify(value));
      later(() => cb?.(null));
    },
    destroy(sid, cb) {
      data.delete(sid);
      later(() => cb?.(null));
    },
  };
}

/** A store that calls back synchronously (express-session's "synchronous store"). */
function syncStore(): ExpressSessionStore {
  const data = new Map<string, string>();
  return {
    get(sid, cb) {
      const text = data.get(sid);
      cb(null, text === undefined ? null : (JSON.parse(text) as StoredSession));
    },
    set(sid, value, cb) {
      data.set(sid, JSON.stringify(value));
      cb?.(null);
    },
    destroy(sid, cb) {
      data.delete(sid);
      cb?.(null);
    },
  };
}

/** A promise-style store: returns promises and never calls the callback. */
function promiseStore(): ExpressSessionStore {
  const data = new Map<string, string>();
  const store = {
    get: async (sid: string) => {
      const text = data.get(sid);
      return text === undefined ? null : (JSON.parse(text) as StoredSession);
    },
    set: async (sid: string, value: StoredSession) => {
      data.set(sid, JSON.stringify(value));
    },
    destroy: async (sid: string) => {
      data.delete(sid);
    },
  };
  return store as unknown as ExpressSessionStore;
}

/** A store that both calls back and returns a promise (as several connect-* stores do). */
function bothStore(): ExpressSessionStore {
  const inner = callbackStore();
  const wrap =
    (method: 'get' | 'set' | 'destroy') =>
    (...args: unknown[]) =>
      new Promise((resolve, reject) => {
        const cb = args.pop() as Callback<unknown> | undefined;
        (inner[method] as (...a: unknown[]) => void)(...args, (error?: unknown, value?: unknown) => {
          cb?.(error, value);
          if (error) reject(error instanceof Error ? error : new Error(String(error)));
          else resolve(value);
        });
      });
  return { get: wrap('get'), set: wrap('set'), destroy: wrap('destroy') } as unknown as ExpressSessionStore;
}

/** A store written the pre-ES2015 way: `Store.call(this)` and `util.inherits`. */
interface OldStyleStore extends EventEmitter, ExpressSessionStore {
  sessions: Record<string, string>;
}
interface OldStyleStoreConstructor {
  new (): OldStyleStore;
  prototype: OldStyleStore;
}
const OldStyle = function OldStyle(this: OldStyleStore) {
  session.Store.call(this);
  this.sessions = {};
} as unknown as OldStyleStoreConstructor;
inherits(OldStyle, session.Store);
OldStyle.prototype.get = function (this: OldStyleStore, sid: string, cb: Callback<StoredSession | null>) {
  const text = this.sessions[sid];
  setImmediate(() => cb(null, text === undefined ? null : (JSON.parse(text) as StoredSession)));
};
OldStyle.prototype.set = function (this: OldStyleStore, sid: string, value: StoredSession, cb?: Callback) {
  this.sessions[sid] = JSON.stringify(value);
  setImmediate(() => cb?.(null));
};
OldStyle.prototype.destroy = function (this: OldStyleStore, sid: string, cb?: Callback) {
  delete this.sessions[sid];
  setImmediate(() => cb?.(null));
};

/** A store written as a class extending `session.Store`. */
class ClassStore extends session.Store implements ExpressSessionStore {
  readonly sessions = new Map<string, string>();
  get(sid: string, cb: Callback<StoredSession | null>): void {
    const text = this.sessions.get(sid);
    process.nextTick(() => cb(null, text === undefined ? null : (JSON.parse(text) as StoredSession)));
  }
  set(sid: string, value: StoredSession, cb?: Callback): void {
    this.sessions.set(sid, JSON.stringify(value));
    process.nextTick(() => cb?.(null));
  }
  destroy(sid: string, cb?: Callback): void {
    this.sessions.delete(sid);
    process.nextTick(() => cb?.(null));
  }
}

const storeFactories: Array<[string, () => ExpressSessionStore | TesseraStore]> = [
  ["express-session's own MemoryStore", () => new expressSession.MemoryStore()],
  ['session.MemoryStore', () => new session.MemoryStore()],
  ['a callback store', callbackStore],
  ['a synchronous callback store', syncStore],
  ['a promise store', promiseStore],
  ['a store that calls back and returns a promise', bothStore],
  ['a Store.call(this) + util.inherits store', () => new OldStyle()],
  ['a class extends session.Store store', () => new ClassStore()],
  ['a native tessera store', () => new TesseraMemoryStore()],
];

describe.each(storeFactories)('the app runs unchanged on %s', (_name, makeStore) => {
  const appOn = (store: ExpressSessionStore | TesseraStore) =>
    createApp({ store, unset: 'destroy' }, async (req, res) => {
      const s = sess(req);
      switch (req.path) {
        case '/count':
          s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
          break;
        case '/regenerate':
          await s.regenerate();
          sess(req)['count'] = 100;
          break;
        case '/destroy':
          await s.destroy();
          res.send('destroyed');
          return;
        case '/unset':
          (req as { session?: unknown }).session = null;
          res.send('unset');
          return;
      }
      res.send(String(sess(req)['count']));
    }).app;

  it('creates, reads, updates, regenerates and destroys sessions', async () => {
    const store = makeStore();
    const app = appOn(store);
    const first = await request(app).get('/count').expect(200, '1');
    expect(sessionCookie(first)?.value).toMatch(TESSERA_VALUE);
    const cookie = cookieOf(first);
    await request(app).get('/count').set('Cookie', cookie).expect(200, '2');
    await request(app).get('/').set('Cookie', cookie).expect(200, '2');

    const regenerated = await request(app).get('/regenerate').set('Cookie', cookie).expect(200, '100');
    const fresh = cookieOf(regenerated);
    expect(fresh).not.toBe(cookie);
    await request(app).get('/').set('Cookie', cookie).expect(200, 'undefined');
    await request(app).get('/count').set('Cookie', fresh).expect(200, '101');

    const destroyed = await request(app).get('/destroy').set('Cookie', fresh).expect(200, 'destroyed');
    expect(isClearing(sessionCookie(destroyed))).toBe(true);
    await request(app).get('/').set('Cookie', fresh).expect(200, 'undefined');
  });

  it('deletes a session when req.session is unset (unset: destroy)', async () => {
    const app = appOn(makeStore());
    const cookie = cookieOf(await request(app).get('/count').expect(200, '1'));
    await request(app).get('/unset').set('Cookie', cookie).expect(200, 'unset');
    await request(app).get('/').set('Cookie', cookie).expect(200, 'undefined');
  });
});

describe('session.Store', () => {
  it('is callable the old way: Store.call(this) with util.inherits', () => {
    const store = new OldStyle();
    expect(store).toBeInstanceOf(session.Store);
    expect(store).toBeInstanceOf(EventEmitter);
    let heard = false;
    store.on('connect', () => (heard = true));
    store.emit('connect');
    expect(heard).toBe(true);
  });

  it('is extendable as a class', () => {
    const store = new ClassStore();
    expect(store).toBeInstanceOf(session.Store);
    expect(store).toBeInstanceOf(EventEmitter);
    expect(typeof store.on).toBe('function');
  });

  it('is the base of session.MemoryStore', () => {
    expect(new session.MemoryStore()).toBeInstanceOf(session.Store);
  });

  it('is what req.sessionStore is when the app gave such a store', async () => {
    const store = new ClassStore();
    const { app } = createApp({ store }, (req, res) => {
      res.send(String((req as { sessionStore?: unknown }).sessionStore === store));
    });
    await request(app).get('/').expect(200, 'true');
  });
});

describe('session.MemoryStore', () => {
  const future = () => new Date(Date.now() + 60_000).toISOString();

  it('has the express-session store API with callbacks', async () => {
    const store = new session.MemoryStore();
    await callback((done) => store.set('a', { cookie: { expires: future() }, n: 1 }, done));
    await callback((done) => store.set('b', { cookie: { expires: null }, n: 2 }, done));
    expect(await callback((done) => store.get('a', done))).toMatchObject({ n: 1 });
    expect(await callback<number>((done) => store.length(done))).toBe(2);
    const all = await callback<Record<string, StoredSession>>((done) => store.all(done));
    expect(Object.keys(all ?? {}).sort()).toEqual(['a', 'b']);
    await callback((done) => store.destroy('a', done));
    expect(await callback((done) => store.get('a', done))).toBeNull();
    await callback((done) => store.clear(done));
    expect(await callback<number>((done) => store.length(done))).toBe(0);
  });

  it('touch() updates only the cookie of a stored session', async () => {
    const store = new session.MemoryStore();
    await callback((done) => store.set('a', { cookie: { expires: future() }, n: 1 }, done));
    const later = new Date(Date.now() + 120_000).toISOString();
    await callback((done) => store.touch('a', { cookie: { expires: later }, n: 99 }, done));
    expect(await callback((done) => store.get('a', done))).toEqual({ cookie: { expires: later }, n: 1 });
    await callback((done) => store.touch('missing', { cookie: {} }, done));
    expect(await callback((done) => store.get('missing', done))).toBeNull();
  });

  it('returns copies, so changing a returned session does not change the store', async () => {
    const store = new session.MemoryStore();
    await callback((done) => store.set('a', { cookie: {}, list: [1] }, done));
    const got = (await callback<StoredSession | null>((done) => store.get('a', done)))!;
    (got['list'] as number[]).push(2);
    expect(await callback((done) => store.get('a', done))).toEqual({ cookie: {}, list: [1] });
  });

  it('drops sessions whose cookie expired', async () => {
    let now = Date.now();
    const store = new session.MemoryStore({ now: () => now });
    await callback((done) => store.set('a', { cookie: { expires: new Date(now + 1000).toISOString() } }, done));
    now += 1000;
    expect(await callback((done) => store.get('a', done))).toBeNull();
    expect(await callback<number>((done) => store.length(done))).toBe(0);
  });

  it('is bounded: the oldest entry goes beyond maxEntries', async () => {
    const store = new session.MemoryStore({ maxEntries: 2 });
    for (const sid of ['a', 'b', 'c']) await callback((done) => store.set(sid, { cookie: {} }, done));
    const all = await callback<Record<string, StoredSession>>((done) => store.all(done));
    expect(Object.keys(all ?? {}).sort()).toEqual(['b', 'c']);
  });

  it('keeps the sessions of an app under req.sessionID', async () => {
    const store = new session.MemoryStore();
    const ids: string[] = [];
    const { app } = createApp({ store }, (req, res) => {
      sess(req)['n'] = 1;
      ids.push(sessionId(req));
      res.end();
    });
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(200);
    const all = await callback<Record<string, StoredSession>>((done) => store.all(done));
    expect(Object.keys(all ?? {}).sort()).toEqual([...ids].sort());
  });
});

describe('session.Session', () => {
  it('is the constructor of req.session: instanceof holds, methods added to its prototype are seen', async () => {
    const proto = session.Session.prototype as unknown as Record<string, unknown>;
    proto['greet'] = function greet(this: Record<string, unknown>) {
      return `hello ${String(this['name'])}`;
    };
    try {
      const { app } = createApp({}, (req, res) => {
        const s = sess(req);
        s['name'] = 'bob';
        res.json({ instance: s instanceof session.Session, greeting: (s['greet'] as () => string)() });
      });
      await request(app).get('/').expect(200, { instance: true, greeting: 'hello bob' });
    } finally {
      delete proto['greet'];
    }
  });

  it('cannot be called by the app (req.session objects come from the middleware)', () => {
    expect(() => new (session.Session as unknown as new () => object)()).toThrow(TypeError);
  });
});

describe('session.Cookie', () => {
  it('defaults to a browser-session cookie on path / that is HttpOnly', () => {
    const cookie = new session.Cookie();
    expect(cookie.path).toBe('/');
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.maxAge).toBeNull();
    expect(cookie.expires).toBeNull();
    expect(cookie.originalMaxAge).toBeNull();
  });

  it('takes its options, and maxAge gives expires and originalMaxAge', () => {
    const now = Date.now();
    const cookie = new session.Cookie({ maxAge: 60_000, path: '/admin', domain: 'example.com', sameSite: 'strict' }, () => now);
    expect(cookie.originalMaxAge).toBe(60_000);
    expect(cookie.maxAge).toBe(60_000);
    expect(cookie.expires?.getTime()).toBe(now + 60_000);
    expect(cookie).toMatchObject({ path: '/admin', domain: 'example.com', sameSite: 'strict' });
  });

  it('maxAge counts down, and setting it or expires starts over', () => {
    let now = 1_000_000;
    const cookie = new session.Cookie({ maxAge: 10_000 }, () => now);
    now += 4000;
    expect(cookie.maxAge).toBe(6000);
    expect(cookie.originalMaxAge).toBe(10_000);
    cookie.maxAge = 20_000;
    expect(cookie.originalMaxAge).toBe(20_000);
    cookie.expires = new Date(now + 5000);
    expect(cookie.maxAge).toBe(5000);
    expect(cookie.originalMaxAge).toBe(5000);
    cookie.expires = false;
    expect(cookie.expires).toBeNull();
    expect(cookie.maxAge).toBeNull();
    cookie.maxAge = null;
    expect(cookie.originalMaxAge).toBeNull();
  });

  it('refuses bad arguments with a TypeError, as express-session does', () => {
    expect(() => new session.Cookie('nope' as never)).toThrow(TypeError);
    const cookie = new session.Cookie();
    expect(() => {
      (cookie as { maxAge: unknown }).maxAge = 'soon';
    }).toThrow(TypeError);
  });

  it('serializes a Set-Cookie value with its own attributes, as express-session\'s Cookie does (HttpOnly by default)', () => {
    const now = Date.UTC(2030, 0, 1);
    const cookie = new session.Cookie({ maxAge: 60_000, sameSite: 'lax', secure: true }, () => now);
    expect(cookie.serialize('name', 'value')).toBe(
      'name=value; Path=/; Expires=Tue, 01 Jan 2030 00:01:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
    // A standalone Cookie is plain data: httpOnly: false is kept (the session cookie is always HttpOnly).
    const plain = new session.Cookie({ httpOnly: false }, () => now);
    expect(plain.httpOnly).toBe(false);
    expect(plain.serialize('name', 'value')).not.toContain('HttpOnly');
  });

  it('has a JSON form like the one express-session stores', () => {
    const now = Date.UTC(2030, 0, 1);
    const cookie = new session.Cookie({ maxAge: 60_000 }, () => now);
    expect(JSON.parse(JSON.stringify(cookie))).toMatchObject({
      originalMaxAge: 60_000,
      expires: '2030-01-01T00:01:00.000Z',
      httpOnly: true,
      path: '/',
    });
  });
});
