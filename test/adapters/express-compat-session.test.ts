/**
 * express-session compatibility of `tessera/express`: the `req.session` API (data, `id`,
 * `regenerate`, `destroy`, `reload`, `save`, `touch`, `resetMaxAge`, `cookie`) with callbacks
 * and promises, `req.sessionID` and `req.sessionStore`, through real HTTP against Express 5 apps.
 *
 * The methods return a promise even when given a callback; callback-style calls are marked
 * `void` here only for the linter (that promise never rejects unhandled).
 */
import express from 'express';
import request, { type Response as TestResponse } from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { MemoryStore as TesseraMemoryStore } from '../../src/store/memory.js';
import {
  HOUR,
  MINUTE,
  TESSERA_VALUE,
  callback,
  cookieOf,
  countCalls,
  createApp,
  fakeClock,
  isClearing,
  maxAgeOf,
  maybeSession,
  sess,
  sessionCookie,
  sessionId,
  sessionStore,
  setCookies,
  storeKeyOfValue,
  tokenOf,
} from './express-helpers.js';

type ExpressStore = InstanceType<typeof session.MemoryStore>;

/** The raw entry an express-session store holds under a key, or null. */
function storeGet(store: ExpressStore, key: string): Promise<unknown> {
  return callback<unknown>((done) => store.get(key, done)).then((v) => v ?? null);
}

function storeLength(store: ExpressStore): Promise<number> {
  return callback<number>((done) => store.length(done)).then((n) => n ?? -1);
}

describe('req.session data', () => {
  it('persists between requests (the README view counter)', async () => {
    const { app } = createApp({ cookie: { maxAge: MINUTE } }, (req, res) => {
      const s = sess(req);
      const views = (s['views'] ?? (s['views'] = {})) as Record<string, number>;
      views[req.path] = (views[req.path] ?? 0) + 1;
      res.send(`you viewed this page ${views[req.path]} times`);
    });
    const first = await request(app).get('/foo').expect(200, 'you viewed this page 1 times');
    const cookie = cookieOf(first);
    await request(app).get('/foo').set('Cookie', cookie).expect(200, 'you viewed this page 2 times');
    await request(app).get('/bar').set('Cookie', cookie).expect(200, 'you viewed this page 1 times');
    await request(app).get('/foo').set('Cookie', cookie).expect(200, 'you viewed this page 3 times');
  });

  it('enumerates only the data and cookie (methods are not enumerable)', async () => {
    const { app } = createApp({}, (req, res) => {
      const s = sess(req);
      s['foo'] = 'foo';
      s['bar'] = 'bar';
      const forIn: string[] = [];
      for (const key in s) forIn.push(key);
      res.json({ keys: Object.keys(s).sort(), forIn: forIn.sort(), json: JSON.parse(JSON.stringify(s)) as unknown });
    });
    const res = await request(app).get('/').expect(200);
    const body = res.body as { keys: string[]; forIn: string[]; json: Record<string, unknown> };
    expect(body.keys).toEqual(['bar', 'cookie', 'foo']);
    expect(body.forIn).toEqual(['bar', 'cookie', 'foo']);
    expect(body.json).toMatchObject({ foo: 'foo', bar: 'bar', cookie: { path: '/', httpOnly: true } });
  });

  it('supports in, delete and setting undefined', async () => {
    const { app } = createApp({}, (req, res) => {
      const s = sess(req);
      if (req.path === '/set') Object.assign(s, { a: 1, b: 2, c: 3 });
      if (req.path === '/remove') {
        delete s['a'];
        s['b'] = undefined;
      }
      res.json({ a: 'a' in s, b: 'b' in s, c: 'c' in s, regenerate: 'regenerate' in s });
    });
    const first = await request(app).get('/set').expect(200, { a: true, b: true, c: true, regenerate: true });
    await request(app).get('/remove').set('Cookie', cookieOf(first)).expect(200, { a: false, b: false, c: true, regenerate: true });
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, { a: false, b: false, c: true, regenerate: true });
  });

  it('sends Set-Cookie only when the session changed (persistent cookie)', async () => {
    let modify = true;
    const { app } = createApp({ cookie: { maxAge: MINUTE } }, (req, res) => {
      const s = sess(req);
      if (modify) s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
      res.send(String(s['count']));
    });
    const first = await request(app).get('/').expect(200, '1');
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(sessionCookie(second)).toBeDefined();
    modify = false;
    const third = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(setCookies(third)).toEqual([]);
    modify = true;
    const fourth = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '3');
    expect(sessionCookie(fourth)?.value).toBe(sessionCookie(first)?.value);
  });

  it('refuses a cookie that is not signed, or whose signature was altered', async () => {
    const { app } = createApp({}, (req, res) => {
      const s = sess(req);
      const isNew = s['active'] === undefined;
      s['active'] = true;
      res.send(isNew ? 'created' : 'read');
    });
    const first = await request(app).get('/').expect(200, 'created');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'read');
    const value = sessionCookie(first)!.value;
    const token = tokenOf(value);
    await request(app).get('/').set('Cookie', `connect.sid=${token}`).expect(200, 'created');
    const altered = value.slice(0, -3) + (value.endsWith('AAA') ? 'BBB' : 'AAA');
    const res = await request(app).get('/').set('Cookie', `connect.sid=${altered}`).expect(200, 'created');
    expect(sessionCookie(res)?.value).not.toBe(value);
  });
});

describe('req.session.id and req.sessionID', () => {
  it('are the same string, stable across requests, and the store key', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      sess(req)['n'] = 1;
      res.json({ id: sess(req).id, sessionID: sessionId(req) });
    });
    const first = await request(app).get('/').expect(200);
    const ids = first.body as { id: string; sessionID: string };
    expect(ids.id).toBe(ids.sessionID);
    expect(ids.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200);
    expect(second.body).toEqual(ids);
    expect(await storeGet(store, ids.id)).not.toBeNull();
  });

  it('is the session id from the cookie, never its token (tessera)', async () => {
    const { app } = createApp({}, (req, res) => {
      sess(req)['n'] = 1;
      res.send(sessionId(req));
    });
    const res = await request(app).get('/').expect(200);
    const value = sessionCookie(res)!.value;
    expect(res.text).toBe(storeKeyOfValue(value));
    expect(res.text).not.toBe(tokenOf(value));
    expect(res.text).not.toContain(tokenOf(value));
  });

  it('exists for a new session without storing it (saveUninitialized false)', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      res.send(`${typeof sessionId(req)}:${sessionId(req) === sess(req).id}`);
    });
    const res = await request(app).get('/').expect(200, 'string:true');
    expect(setCookies(res)).toEqual([]);
    expect(await storeLength(store)).toBe(0);
  });

  it('cannot be changed by the app', async () => {
    const { app } = createApp({}, (req, res) => {
      const before = sessionId(req);
      (req as { sessionID?: unknown }).sessionID = 'bogus';
      let threw = false;
      try {
        (sess(req) as { id: string }).id = 'bogus';
      } catch {
        threw = true;
      }
      sess(req)['n'] = 1;
      res.json({ same: sessionId(req) === before && sess(req).id === before, threw });
    });
    const res = await request(app).get('/').expect(200, { same: true, threw: true });
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
  });
});

describe('req.sessionStore', () => {
  it('is the store the app gave', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      res.send(String(sessionStore(req) === store));
    });
    await request(app).get('/').expect(200, 'true');
  });

  it('lets the app reach a session through it by req.sessionID', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, async (req, res) => {
      const s = sess(req);
      if (req.path === '/set') {
        s['user'] = 'bob';
        await s.save();
      }
      const found = await storeGet(sessionStore(req) as ExpressStore, sessionId(req));
      res.send(found === null ? 'absent' : 'present');
    });
    const first = await request(app).get('/set').expect(200, 'present');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'present');
  });

  it('defaults to a tessera memory store', async () => {
    const { app } = createApp({}, (req, res) => {
      res.send(String(sessionStore(req) instanceof TesseraMemoryStore));
    });
    await request(app).get('/').expect(200, 'true');
  });
});

describe('req.session.regenerate()', () => {
  const appWithStore = () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, async (req, res) => {
      const s = sess(req);
      if (req.path === '/set') {
        s['user'] = 'bob';
        res.send(s.id);
        return;
      }
      if (req.path === '/regenerate-callback') {
        const oldId = s.id;
        void s.regenerate((error) => {
          if (error) {
            res.status(500).end();
            return;
          }
          const fresh = sess(req);
          fresh['n'] = 1;
          res.json({ same: fresh.id === oldId, user: fresh['user'] ?? null, replaced: fresh !== s });
        });
        return;
      }
      if (req.path === '/regenerate-promise') {
        const oldId = s.id;
        await s.regenerate();
        sess(req)['n'] = 1;
        res.json({ same: sess(req).id === oldId, user: sess(req)['user'] ?? null, replaced: sess(req) !== s });
        return;
      }
      res.send(String(s['user']));
    });
    return { app, store };
  };

  it.each(['callback', 'promise'])('(%s) replaces the session: new id, no data, old one deleted', async (form) => {
    const { app, store } = appWithStore();
    const first = await request(app).get('/set').expect(200);
    const oldId = first.text;
    const regenerated = await request(app).get(`/regenerate-${form}`).set('Cookie', cookieOf(first)).expect(200);
    expect(regenerated.body).toEqual({ same: false, user: null, replaced: true });
    expect(sessionCookie(regenerated)?.value).toMatch(TESSERA_VALUE);
    expect(tokenOf(sessionCookie(regenerated)!.value)).not.toBe(tokenOf(sessionCookie(first)!.value));
    expect(await storeGet(store, oldId)).toBeNull();
    // The old cookie no longer works.
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'undefined');
  });

  it('supports the README login flow: regenerate, set the user, save, redirect', async () => {
    const app = express();
    app.use(session({ secret: 'a-long-enough-secret-for-tessera-0123456789' }));
    app.use(express.urlencoded({ extended: false }));
    app.get('/', (req, res) => {
      const user = sess(req)['user'];
      res.send(user ? `hello, ${String(user)}!` : 'login');
    });
    app.post('/login', (req, res, next) => {
      void sess(req).regenerate((error) => {
        if (error) return next(error);
        sess(req)['user'] = (req.body as { user: string }).user;
        void sess(req).save((saveError) => {
          if (saveError) return next(saveError);
          res.redirect('/');
        });
      });
    });
    app.get('/logout', (req, res, next) => {
      sess(req)['user'] = null;
      void sess(req).save((error) => {
        if (error) return next(error);
        void sess(req).regenerate((regenerateError) => {
          if (regenerateError) return next(regenerateError);
          res.redirect('/');
        });
      });
    });

    const login = await request(app).post('/login').type('form').send({ user: 'alice' }).expect(302);
    expect(login.get('Location')).toBe('/');
    const cookie = cookieOf(login);
    await request(app).get('/').set('Cookie', cookie).expect(200, 'hello, alice!');
    const logout = await request(app).get('/logout').set('Cookie', cookie).expect(302);
    // The regenerated session is empty, so tessera clears the cookie instead of storing it.
    expect(isClearing(sessionCookie(logout))).toBe(true);
    await request(app).get('/').set('Cookie', cookie).expect(200, 'login');
  });

  it('works on a session that was never stored', async () => {
    const { app } = createApp({}, async (req, res) => {
      const before = sess(req).id;
      await sess(req).regenerate();
      sess(req)['n'] = 1;
      res.send(String(sess(req).id !== before));
    });
    const res = await request(app).get('/').expect(200, 'true');
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
  });
});

describe('req.session.destroy()', () => {
  const destroyApp = (store: ExpressStore) =>
    createApp({ store }, async (req, res) => {
      const s = sess(req);
      if (req.path === '/set') {
        s['user'] = 'bob';
        res.send(s.id);
      } else if (req.path === '/destroy-callback') {
        void s.destroy((error) => {
          res.status(error ? 500 : 200).send(String(maybeSession(req)));
        });
      } else if (req.path === '/destroy-promise') {
        await s.destroy();
        res.send(String(maybeSession(req)));
      } else {
        res.send(String(s['user']));
      }
    }).app;

  it.each(['callback', 'promise'])('(%s) deletes the session, unsets req.session and clears the cookie', async (form) => {
    const store = new session.MemoryStore();
    const app = destroyApp(store);
    const first = await request(app).get('/set').expect(200);
    expect(await storeLength(store)).toBe(1);
    const destroyed = await request(app).get(`/destroy-${form}`).set('Cookie', cookieOf(first)).expect(200, 'undefined');
    expect(await storeGet(store, first.text)).toBeNull();
    expect(await storeLength(store)).toBe(0);
    // tessera clears the cookie (express-session leaves it in the browser).
    expect(isClearing(sessionCookie(destroyed))).toBe(true);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'undefined');
  });

  it('on a new session: req.session is unset and no cookie is sent', async () => {
    const store = new session.MemoryStore();
    const res = await request(destroyApp(store)).get('/destroy-callback').expect(200, 'undefined');
    expect(setCookies(res)).toEqual([]);
    expect(await storeLength(store)).toBe(0);
  });
});

describe('req.session.reload()', () => {
  it('loads what another request saved meanwhile, dropping unsaved changes (callback and promise)', async () => {
    let cookie = '';
    const { app } = createApp({}, async (req, res) => {
      const s = sess(req);
      if (req.path === '/') {
        s['active'] = true;
        res.send('created');
        return;
      }
      if (req.path === '/bar') {
        s['url'] = req.path;
        res.send(`saw ${req.path}`);
        return;
      }
      s['url'] = req.path;
      s['unsaved'] = true;
      await request(app).get('/bar').set('Cookie', cookie).expect(200, 'saw /bar');
      if (req.path === '/callback') {
        void s.reload((error) => {
          if (error) return res.status(500).send(String(error));
          res.json({ url: sess(req)['url'], unsaved: sess(req)['unsaved'] ?? null, same: sess(req) === s });
        });
      } else {
        await s.reload();
        res.json({ url: s['url'], unsaved: s['unsaved'] ?? null, same: sess(req) === s });
      }
    });
    cookie = cookieOf(await request(app).get('/').expect(200, 'created'));
    await request(app).get('/callback').set('Cookie', cookie).expect(200, { url: '/bar', unsaved: null, same: true });
    await request(app).get('/promise').set('Cookie', cookie).expect(200, { url: '/bar', unsaved: null, same: true });
  });

  it("fails with 'failed to load session' when the session is gone (callback and promise)", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, async (req, res) => {
      const s = sess(req);
      if (req.path === '/') {
        s['active'] = true;
        res.send('created');
        return;
      }
      await callback((done) => store.clear(done));
      if (req.path === '/callback') {
        void s.reload((error) => res.status(error ? 500 : 200).send(error instanceof Error ? error.message : ''));
      } else {
        await s.reload().then(
          () => res.send(''),
          (error: unknown) => res.status(500).send((error as Error).message),
        );
      }
    });
    const cookie = cookieOf(await request(app).get('/').expect(200, 'created'));
    await request(app).get('/callback').set('Cookie', cookie).expect(500, 'failed to load session');
    await request(app).get('/promise').set('Cookie', cookie).expect(500, 'failed to load session');
  });

  it('can be called many times in a row', async () => {
    const { app } = createApp({}, (req, res) => {
      const s = sess(req);
      if (req.path === '/') {
        s['active'] = true;
        res.send('created');
        return;
      }
      let left = 20;
      const again = (error?: unknown): void => {
        if (error) {
          res.status(500).send(String(error));
          return;
        }
        if (--left === 0) {
          res.send('ok');
          return;
        }
        void sess(req).reload(again);
      };
      again();
    });
    const cookie = cookieOf(await request(app).get('/').expect(200, 'created'));
    await request(app).get('/many').set('Cookie', cookie).expect(200, 'ok');
  });
});

describe('req.session.save()', () => {
  it('(callback) writes the session before the response, and the end of the request does not write again', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store }, (req, res) => {
      const s = sess(req);
      s['hit'] = true;
      void s.save((error) => {
        if (error) return res.status(500).send(String(error));
        store.get(s.id, (getError, stored) => res.send(getError ? 'error' : stored ? 'stored' : 'empty'));
      });
    });
    const first = await request(app).get('/').expect(200, 'stored');
    expect(sets.count).toBe(1);
    expect(sessionCookie(first)?.value).toMatch(TESSERA_VALUE);
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'stored');
    // express-session's save() always writes; so does tessera's, once.
    expect(sets.count).toBe(1);
  });

  it('(promise) resolves once written; later changes are saved at the end', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store }, async (req, res) => {
      const s = sess(req);
      if (req.path === '/read') {
        res.json({ a: s['a'], b: s['b'] });
        return;
      }
      s['a'] = 1;
      await s.save();
      s['b'] = 2;
      res.send('saved');
    });
    const first = await request(app).get('/').expect(200, 'saved');
    expect(sets.count).toBe(2);
    await request(app).get('/read').set('Cookie', cookieOf(first)).expect(200, { a: 1, b: 2 });
  });

  it('after reload(), saves once', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      const s = sess(req);
      if (req.path === '/') {
        s['hit'] = true;
        res.send('created');
        return;
      }
      void s.reload(() => {
        void sess(req).save((error) => res.send(error ? 'error' : 'saved'));
      });
    });
    const first = await request(app).get('/').expect(200, 'created');
    const sets = countCalls(store, 'set');
    await request(app).get('/again').set('Cookie', cookieOf(first)).expect(200, 'saved');
    expect(sets.count).toBe(1);
  });

  it('stores even an empty new session when asked explicitly, and sets its cookie', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, saveUninitialized: false }, async (req, res) => {
      await sess(req).save();
      res.send('saved');
    });
    const res = await request(app).get('/').expect(200, 'saved');
    expect(await storeLength(store)).toBe(1);
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
  });

  it('reports a store failure to the callback and rejects the promise', async () => {
    const store = new session.MemoryStore();
    store.set = (_sid, _s, cb) => cb?.(new Error('boom!'));
    const errors: unknown[] = [];
    const { app } = createApp({ store }, async (req, res) => {
      const s = sess(req);
      s['hit'] = true;
      await new Promise<void>((resolve) => s.save((error) => (errors.push(error), resolve())));
      await s.save().catch((error: unknown) => errors.push(error));
      res.send('done');
    });
    // The end-of-request save fails too: the response goes out, then the error goes to next(err).
    await request(app).get('/').expect(200, 'done');
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('req.session.touch() and resetMaxAge()', () => {
  it('touch() returns the session and resets cookie.maxAge', async () => {
    const clock = fakeClock();
    const { app } = createApp({ cookie: { maxAge: MINUTE }, now: clock.now }, (req, res) => {
      const s = sess(req);
      s['n'] = 1;
      clock.advance(1000);
      const before = s.cookie.maxAge;
      const returned = s.touch();
      res.json({ before, after: s.cookie.maxAge, chained: returned === s });
    });
    await request(app).get('/').expect(200, { before: MINUTE - 1000, after: MINUTE, chained: true });
  });

  it('touch() extends the idle deadline in the store now, even within the touch interval', async () => {
    const clock = fakeClock();
    const store = new session.MemoryStore({ now: clock.now });
    const { app } = createApp({ store, now: clock.now, cookie: { maxAge: 10 * MINUTE } }, (req, res) => {
      const s = sess(req);
      if (req.path === '/set') s['user'] = 'bob';
      if (req.path === '/touch') s.touch();
      res.send(s.id);
    });
    const first = await request(app).get('/set').expect(200);
    const expiresOf = async () =>
      Date.parse(String(((await storeGet(store, first.text)) as { cookie: { expires: string } }).cookie.expires));
    const created = await expiresOf();
    const sets = countCalls(store, 'set');
    clock.advance(10_000);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200);
    expect(sets.count).toBe(0);
    expect(await expiresOf()).toBe(created);
    await request(app).get('/touch').set('Cookie', cookieOf(first)).expect(200);
    expect(sets.count).toBe(1);
    expect(await expiresOf()).toBe(created + 10_000);
  });

  it('resetMaxAge() sets cookie.maxAge back to originalMaxAge', async () => {
    const clock = fakeClock();
    const { app } = createApp({ cookie: { maxAge: MINUTE }, now: clock.now }, (req, res) => {
      const s = sess(req);
      clock.advance(5000);
      const before = s.cookie.maxAge;
      const returned = s.resetMaxAge();
      res.json({ before, after: s.cookie.maxAge, original: s.cookie.originalMaxAge, chained: returned === s });
    });
    await request(app).get('/').expect(200, { before: MINUTE - 5000, after: MINUTE, original: MINUTE, chained: true });
  });
});

describe('req.session.cookie', () => {
  it('is a session.Cookie reflecting the options', async () => {
    const { app } = createApp({ cookie: { maxAge: 2000, path: '/', domain: 'example.com', sameSite: 'strict' } }, (req, res) => {
      const c = sess(req).cookie;
      res.json({
        isCookie: c instanceof session.Cookie,
        path: c.path,
        domain: c.domain,
        httpOnly: c.httpOnly,
        sameSite: c.sameSite,
        originalMaxAge: c.originalMaxAge,
        expires: c.expires instanceof Date,
      });
    });
    await request(app)
      .get('/')
      .expect(200, { isCookie: true, path: '/', domain: 'example.com', httpOnly: true, sameSite: 'strict', originalMaxAge: 2000, expires: true });
  });

  it('is a browser-session cookie by default: maxAge, expires and originalMaxAge are null', async () => {
    const { app } = createApp({}, (req, res) => {
      const c = sess(req).cookie;
      res.json({ maxAge: c.maxAge, expires: c.expires, originalMaxAge: c.originalMaxAge });
    });
    await request(app).get('/').expect(200, { maxAge: null, expires: null, originalMaxAge: null });
  });

  it('originalMaxAge stays the configured maxAge on every request', async () => {
    const clock = fakeClock();
    const { app } = createApp({ cookie: { maxAge: 2000 }, now: clock.now }, (req, res) => {
      sess(req)['n'] = 1;
      res.send(JSON.stringify(sess(req).cookie.originalMaxAge));
    });
    const first = await request(app).get('/').expect(200, '2000');
    clock.advance(100);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2000');
  });

  it('maxAge is the time left since the session was last seen (the README example)', async () => {
    const clock = fakeClock();
    const { app } = createApp({ cookie: { maxAge: MINUTE }, now: clock.now }, (req, res) => {
      sess(req)['views'] = 1;
      res.send(String(sess(req).cookie.maxAge));
    });
    const first = await request(app).get('/').expect(200, String(MINUTE));
    clock.advance(30_000);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '30000');
  });

  describe('maxAge set per session', () => {
    const perSessionApp = () => {
      const clock = fakeClock();
      const { app } = createApp({ cookie: { maxAge: 2000 }, now: clock.now }, (req, res) => {
        const s = sess(req);
        s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
        if (req.query['maxAge'] !== undefined) s.cookie.maxAge = Number(req.query['maxAge']);
        res.json({ count: s['count'], originalMaxAge: s.cookie.originalMaxAge });
      });
      return { app, clock };
    };

    it('changes the cookie expiry and the idle timeout of that session only', async () => {
      const { app, clock } = perSessionApp();
      const a = await request(app).get('/').expect(200, { count: 1, originalMaxAge: 2000 });
      expect(maxAgeOf(sessionCookie(a))).toBe(2);
      const changed = await request(app).get('/?maxAge=5000').set('Cookie', cookieOf(a)).expect(200, { count: 2, originalMaxAge: 5000 });
      expect(maxAgeOf(sessionCookie(changed))).toBe(5);
      // It sticks: later requests use 5000, and the session now lives 5 s without a request.
      const later = await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 3, originalMaxAge: 5000 });
      expect(maxAgeOf(sessionCookie(later))).toBe(5);
      clock.advance(4000);
      await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 4, originalMaxAge: 5000 });
      // Another session keeps the configured 2000.
      const b = await request(app).get('/').expect(200, { count: 1, originalMaxAge: 2000 });
      clock.advance(2500);
      await request(app).get('/').set('Cookie', cookieOf(b)).expect(200, { count: 1, originalMaxAge: 2000 });
      await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 5, originalMaxAge: 5000 });
      clock.advance(5001);
      await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 1, originalMaxAge: 2000 });
    });

    it('accepts a large value for the cookie; the absolute timeout (12 h) still ends the session (tessera)', async () => {
      const { app, clock } = perSessionApp();
      const a = await request(app).get('/').expect(200);
      const changed = await request(app).get('/?maxAge=3000000000').set('Cookie', cookieOf(a)).expect(200);
      expect(maxAgeOf(sessionCookie(changed))).toBe(3_000_000);
      clock.advance(11 * HOUR);
      await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 3, originalMaxAge: 3_000_000_000 });
      clock.advance(HOUR);
      await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, { count: 1, originalMaxAge: 2000 });
    });

    it('cookie.expires = new Date(now + ms) is the same as cookie.maxAge = ms', async () => {
      const clock = fakeClock();
      const { app } = createApp({ now: clock.now }, (req, res) => {
        sess(req)['n'] = 1;
        sess(req).cookie.expires = new Date(clock.now() + HOUR);
        res.send(String(sess(req).cookie.originalMaxAge));
      });
      const res = await request(app).get('/').expect(200, String(HOUR));
      expect(maxAgeOf(sessionCookie(res))).toBe(3600);
    });

    it('rejects a value that is not a number or a Date', async () => {
      const { app } = createApp({}, (req, res) => {
        try {
          (sess(req).cookie as { maxAge: unknown }).maxAge = 'soon';
          res.send('accepted');
        } catch (error) {
          res.send((error as Error).name);
        }
      });
      await request(app).get('/').expect(200, 'TypeError');
    });
  });

  it.each([null, false] as const)('expires = %s makes a browser-session cookie that is not sent again', async (value) => {
    const { app } = createApp({ cookie: { maxAge: MINUTE } }, (req, res) => {
      const s = sess(req);
      s.cookie.expires = value;
      s['hit'] = ((s['hit'] as number | undefined) ?? 0) + 1;
      res.send(String(s['hit']));
    });
    const first = await request(app).get('/').expect(200, '1');
    const cookie = sessionCookie(first);
    expect(cookie?.attributes['expires']).toBeUndefined();
    expect(cookie?.attributes['max-age']).toBeUndefined();
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(setCookies(second)).toEqual([]);
  });

  it('per-session changes of other attributes do not weaken the cookie (tessera)', async () => {
    const { app } = createApp({ cookie: { sameSite: 'strict' } }, (req, res) => {
      const c = sess(req).cookie;
      c.httpOnly = false;
      c.sameSite = 'none';
      c.path = '/elsewhere';
      sess(req)['n'] = 1;
      res.end();
    });
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)?.attributes).toEqual({ httponly: true, samesite: 'Strict', path: '/' });
  });
});

describe('timeouts (tessera; express-session has none on the server)', () => {
  /** Send the cookie a browser holds and keep what the server sets (rotation replaces it). */
  function browser(app: Parameters<typeof request>[0], first: TestResponse) {
    let cookie = cookieOf(first);
    return async (expected: string): Promise<TestResponse> => {
      const res = await request(app).get('/').set('Cookie', cookie).expect(200, expected);
      if (sessionCookie(res)?.value) cookie = cookieOf(res);
      return res;
    };
  }

  it('a session without cookie.maxAge expires after 30 min idle', async () => {
    const clock = fakeClock();
    const { app } = createApp({ now: clock.now }, (req, res) => {
      const s = sess(req);
      s['n'] = ((s['n'] as number | undefined) ?? 0) + 1;
      res.send(String(s['n']));
    });
    const first = await request(app).get('/').expect(200, '1');
    const visit = browser(app, first);
    clock.advance(29 * MINUTE);
    await visit('2');
    clock.advance(29 * MINUTE);
    await visit('3');
    clock.advance(30 * MINUTE);
    const expired = await visit('1');
    expect(tokenOf(sessionCookie(expired)!.value)).not.toBe(tokenOf(sessionCookie(first)!.value));
  });

  it('an active session still ends 12 h after it was created', async () => {
    const clock = fakeClock();
    const { app } = createApp({ now: clock.now }, (req, res) => {
      const s = sess(req);
      s['n'] = ((s['n'] as number | undefined) ?? 0) + 1;
      res.send(String(s['n']));
    });
    const visit = browser(app, await request(app).get('/').expect(200, '1'));
    let n = 1;
    for (let elapsed = 20 * MINUTE; elapsed < 12 * HOUR; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      await visit(String(++n));
    }
    clock.advance(20 * MINUTE);
    await visit('1');
  });
});

describe('names express-session apps use for their own data', () => {
  it('keeps req.session.userId and req.session.user as plain session data', async () => {
    const { app } = createApp({}, (req, res) => {
      const s = sess(req);
      if (req.url === '/login') {
        s['userId'] = 42;
        s['user'] = { name: 'alice' };
      }
      res.json({ userId: s['userId'] ?? null, user: s['user'] ?? null });
    });
    const login = await request(app).get('/login').expect(200, { userId: 42, user: { name: 'alice' } });
    await request(app).get('/').set('Cookie', cookieOf(login)).expect(200, { userId: 42, user: { name: 'alice' } });
  });
});
