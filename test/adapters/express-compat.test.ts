/**
 * express-session compatibility of `tessera/express`: the exports and every option of
 * `session(options)`, through real HTTP against Express 5 apps. The `req.session` API is in
 * express-compat-session.test.ts, stores in express-compat-store.test.ts, migration from
 * express-session in express-migration.test.ts.
 *
 * Where tessera deliberately differs from express-session (README, "Where the defaults differ"),
 * the test says so and checks tessera's behaviour.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore as TesseraMemoryStore } from '../../src/store/memory.js';
import {
  MINUTE,
  SECRET,
  SECRET_2,
  TESSERA_VALUE,
  cookieOf,
  countCalls,
  createApp,
  fakeClock,
  isClearing,
  maxAgeOf,
  sess,
  sessionCookie,
  sessionId,
  setCookies,
  setSession,
  storeKeyOfValue,
  tokenOf,
} from './express-helpers.js';

/** A handler that counts visits in the session and answers the count. */
const countVisits = (req: express.Request, res: express.Response) => {
  const s = sess(req);
  s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
  res.send(String(s['count']));
};

describe('tessera/express exports', () => {
  it('is a function with Store, MemoryStore, Cookie and Session on it, like express-session', () => {
    expect(typeof session).toBe('function');
    expect(typeof session.Store).toBe('function');
    expect(typeof session.MemoryStore).toBe('function');
    expect(typeof session.Cookie).toBe('function');
    expect(typeof session.Session).toBe('function');
  });

  it('returns a middleware that exposes its engine', () => {
    const middleware = session({ secret: SECRET });
    expect(typeof middleware).toBe('function');
    expect(middleware.length).toBe(3);
    expect(typeof middleware.engine.load).toBe('function');
  });

  it('does nothing when req.session already exists', async () => {
    const { app } = createApp({ saveUninitialized: true }, (req, res) => res.send(typeof sess(req).regenerate), (req, _res, next) => {
      setSession(req, {});
      next();
    });
    const res = await request(app).get('/').expect(200, 'undefined');
    expect(setCookies(res)).toEqual([]);
  });

  it('creates a session, then loads it from the cookie', async () => {
    const { app } = createApp({}, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    expect(sessionCookie(first)?.value).toMatch(TESSERA_VALUE);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '3');
  });

  it('keeps separate sessions for separate clients', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, countVisits);
    const [a, b] = await Promise.all([request(app).get('/').expect(200, '1'), request(app).get('/').expect(200, '1')]);
    expect(cookieOf(a)).not.toBe(cookieOf(b));
    await request(app).get('/').set('Cookie', cookieOf(a)).expect(200, '2');
    await request(app).get('/').set('Cookie', cookieOf(b)).expect(200, '2');
    const all = await new Promise<Record<string, unknown>>((resolve) => store.all((_e, v) => resolve(v as Record<string, unknown>)));
    expect(Object.keys(all)).toHaveLength(2);
  });

  it('treats an empty req.url as /', async () => {
    // Plain Node http: Express itself would not route an empty URL.
    const middleware = session({ secret: SECRET, saveUninitialized: true });
    const server = createServer((req, res) => {
      req.url = '';
      void middleware(req, res, () => res.end('ok'));
    });
    const res = await request(server).get('/').expect(200, 'ok');
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
  });

  it('handles res.end(null)', async () => {
    const { app } = createApp({}, (req, res) => {
      sess(req)['hit'] = true;
      res.end(null);
    });
    await request(app).get('/').expect(200, '');
  });

  // The handler listens for 'error' so that a regression (ERR_STREAM_WRITE_AFTER_END) fails
  // this test instead of crashing the runner.
  it('ignores a second res.end() while the first waits for the save', async () => {
    const { app } = createApp({}, (req, res) => {
      res.on('error', () => undefined);
      sess(req)['hit'] = true;
      res.setHeader('Content-Type', 'text/plain');
      res.end('Hello, world!');
      res.end();
    });
    await request(app).get('/').expect(200, 'Hello, world!');
  });

  const previous = new session.Cookie().serialize('previous', 'cookieValue');

  it('keeps a Set-Cookie header the app set with res.setHeader', async () => {
    const { app } = createApp({}, (req, res) => {
      sess(req)['hit'] = 1;
      res.setHeader('Set-Cookie', previous).end();
    });
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res).map((c) => `${c.name}=${c.name === 'previous' ? c.value : '…'}`)).toEqual([
      'previous=cookieValue',
      'connect.sid=…',
    ]);
  });

  it('keeps both cookies when the app passes Set-Cookie to res.writeHead', async () => {
    const { app } = createApp({}, (req, res) => {
      sess(req)['hit'] = 1;
      res.writeHead(200, { 'Set-Cookie': previous }).end();
    });
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res).map((c) => c.name).sort()).toEqual(['connect.sid', 'previous']);
  });

  it('saves the session before a streamed response ends', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      sess(req)['hit'] = true;
      res.setHeader('Content-Length', '12');
      res.write('hello, ');
      res.end('world');
    });
    const res = await request(app).get('/').expect(200, 'hello, world');
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
    await new Promise<void>((resolve) => store.length((_e, n) => (expect(n).toBe(1), resolve())));
  });
});

describe('secret', () => {
  it('signs and verifies with a string', async () => {
    const { app } = createApp({ secret: SECRET }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
  });

  it('signs and verifies with a Buffer', async () => {
    const { app } = createApp({ secret: randomBytes(32) }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
  });

  it('signs with the first secret of an array', async () => {
    const store = new TesseraMemoryStore();
    const { app: rotated } = createApp({ secret: [SECRET_2, SECRET], store }, countVisits);
    const { app: secondOnly } = createApp({ secret: SECRET, store }, countVisits);
    const first = await request(rotated).get('/').expect(200, '1');
    // Signed by SECRET_2: an app that only knows SECRET does not accept it.
    await request(secondOnly).get('/').set('Cookie', cookieOf(first)).expect(200, '1');
  });

  it('verifies with every secret of an array, and re-signs with the first', async () => {
    const store = new TesseraMemoryStore();
    const { app: old } = createApp({ secret: SECRET, store }, countVisits);
    const { app: rotated } = createApp({ secret: [SECRET_2, SECRET], store }, countVisits);
    const first = await request(old).get('/').expect(200, '1');
    const second = await request(rotated).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    const resigned = sessionCookie(second);
    expect(resigned?.value).toMatch(TESSERA_VALUE);
    expect(resigned?.value).not.toBe(sessionCookie(first)?.value);
    // Same session (same token), new signature by the first key.
    expect(tokenOf(resigned!.value)).toBe(tokenOf(sessionCookie(first)!.value));
    await request(rotated).get('/').set('Cookie', cookieOf(second)).expect(200, '3');
  });

  it("comes from cookie-parser's req.secret when the app gives none, as in express-session", async () => {
    const { app } = createApp({ secret: undefined }, countVisits, (req, _res, next) => {
      (req as { secret?: string }).secret = SECRET;
      next();
    });
    const first = await request(app).get('/').expect(200, '1');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
  });

  it('without any secret, fails each request (not the process), and refuses an empty array at once', async () => {
    const { app } = createApp({ secret: undefined }, countVisits);
    await request(app).get('/').expect(500, 'INVALID_OPTION');
    expect(() => session(undefined as never)).toThrow(/options/);
    expect(() => session({ secret: [] })).toThrow(/secret option array must contain one or more strings/);
  });

  it("refuses a weak first secret like 'keyboard cat' under NODE_ENV=production, naming what a strong one is (tessera)", () => {
    vi.stubEnv('NODE_ENV', 'production');
    try {
      let error: unknown;
      try {
        session({ secret: 'keyboard cat', cookie: { secure: true } });
      } catch (e) {
        error = e;
      }
      expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toMatch(/12 bytes, fewer than the 32/);
      expect(() => session({ secret: ['keyboard cat', SECRET], cookie: { secure: true } })).toThrow(/fewer than the 32/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("accepts 'keyboard cat' outside production, as express-session does (with a warning)", async () => {
    vi.stubEnv('NODE_ENV', 'development');
    try {
      const { app } = createApp({ secret: 'keyboard cat' }, (req, res) => {
        sess(req)['n'] = 1;
        res.end('ok');
      });
      const res = await request(app).get('/').expect(200, 'ok');
      expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('accepts a short secret after a strong first one', async () => {
    const { app } = createApp({ secret: [SECRET, 'keyboard cat'] }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
  });
});

describe('name', () => {
  it("defaults to 'connect.sid', like express-session (so nobody is logged out)", async () => {
    const { app } = createApp({}, countVisits);
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res).map((c) => c.name)).toEqual(['connect.sid']);
  });

  it('sets the cookie name and reads only that cookie', async () => {
    const { app } = createApp({ name: 'session_id' }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    expect(setCookies(first).map((c) => c.name)).toEqual(['session_id']);
    await request(app).get('/').set('Cookie', cookieOf(first, 'session_id')).expect(200, '2');
    const value = sessionCookie(first, 'session_id')!.value;
    await request(app).get('/').set('Cookie', `connect.sid=${value}`).expect(200, '1');
  });

  it("accepts the recommended '__Host-sid' (Secure by default), and refuses it with secure: 'auto' or false or a domain", async () => {
    const { app } = createApp({ name: '__Host-sid', cookie: { secure: true }, proxy: true }, countVisits);
    const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200, '1');
    const cookie = sessionCookie(res, '__Host-sid');
    expect(cookie?.attributes).toMatchObject({ secure: true, path: '/' });
    expect(cookie?.attributes['domain']).toBeUndefined();
    expect(() => session({ secret: SECRET, name: '__Host-sid' })).not.toThrow();
    expect(() => session({ secret: SECRET, name: '__Host-sid', cookie: { secure: 'auto' } })).toThrow(/__Host-/);
    expect(() => session({ secret: SECRET, name: '__Host-sid', cookie: { secure: false } })).toThrow(/__Host-/);
    expect(() => session({ secret: SECRET, name: '__Host-sid', cookie: { secure: true, domain: 'example.com' } })).toThrow(/__Host-/);
  });

  it('refuses a name that is not a cookie name', () => {
    expect(() => session({ secret: SECRET, name: 'bad name;' })).toThrow(/cookie name/);
  });
});

describe('cookie', () => {
  it('defaults: browser-session cookie, HttpOnly, SameSite=Lax, Path=/, no Domain, Secure only over HTTPS', async () => {
    const { app } = createApp({}, countVisits);
    const res = await request(app).get('/').expect(200);
    const cookie = sessionCookie(res);
    expect(cookie?.attributes).toEqual({ httponly: true, samesite: 'Lax', path: '/' });
    // Every response that carries the session cookie is kept out of caches.
    expect(res.get('Cache-Control')).toBe('no-store');
  });

  it('maxAge makes a persistent cookie that expires maxAge from now', async () => {
    const { app } = createApp({ cookie: { maxAge: 2 * MINUTE } }, countVisits);
    const res = await request(app).get('/').expect(200);
    const cookie = sessionCookie(res);
    expect(maxAgeOf(cookie)).toBe(120);
    const expires = Date.parse(String(cookie?.attributes['expires']));
    const date = Date.parse(res.get('Date')!);
    expect(Math.abs(expires - date - 2 * MINUTE)).toBeLessThanOrEqual(1000);
  });

  it('maxAge is also the idle timeout on the server (tessera)', async () => {
    const clock = fakeClock();
    const { app } = createApp({ cookie: { maxAge: 10 * MINUTE }, now: clock.now }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    clock.advance(9 * MINUTE);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    clock.advance(9 * MINUTE);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '3');
    clock.advance(10 * MINUTE + 1);
    const expired = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '1');
    expect(sessionCookie(expired)?.value).not.toBe(sessionCookie(first)?.value);
  });

  it('expires (a Date) makes a persistent cookie', async () => {
    const { app } = createApp({ cookie: { expires: new Date(Date.now() + 5 * MINUTE) } }, countVisits);
    const res = await request(app).get('/').expect(200);
    const maxAge = maxAgeOf(sessionCookie(res));
    expect(maxAge).toBeGreaterThan(290);
    expect(maxAge).toBeLessThanOrEqual(300);
  });

  it('path: no session outside it, the Path attribute inside it', async () => {
    const { app } = createApp({ cookie: { path: '/foo/bar' }, saveUninitialized: true }, (req, res) => {
      res.send(String(sess(req) !== undefined));
    });
    const outside = await request(app).get('/').expect(200, 'false');
    expect(setCookies(outside)).toEqual([]);
    await request(app).get('/foo').expect(200, 'false');
    const inside = await request(app).get('/foo/bar/baz').expect(200, 'true');
    expect(sessionCookie(inside)?.attributes['path']).toBe('/foo/bar');
  });

  it('path is matched against the original URL when mounted under a prefix', async () => {
    const router = express.Router();
    router.use(session({ secret: SECRET, cookie: { path: '/foo/bar' }, saveUninitialized: true }));
    router.use((req, res) => {
      res.send(String(sess(req) !== undefined));
    });
    const app = express();
    app.use('/foo', router);
    const inside = await request(app).get('/foo/bar').expect(200, 'true');
    expect(sessionCookie(inside)).toBeDefined();
    const outside = await request(app).get('/foo/foo/bar').expect(200, 'false');
    expect(setCookies(outside)).toEqual([]);
  });

  it('domain sets the Domain attribute', async () => {
    const { app } = createApp({ cookie: { domain: 'example.com' } }, countVisits);
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)?.attributes['domain']).toBe('example.com');
  });

  it.each([
    [true, 'Strict'],
    ['strict', 'Strict'],
    ['lax', 'Lax'],
    [undefined, 'Lax'],
    // express-session leaves SameSite out for false; tessera sends the browsers' own default.
    [false, 'Lax'],
  ] as const)('sameSite %s sends SameSite=%s', async (sameSite, expected) => {
    const { app } = createApp({ cookie: sameSite === undefined ? {} : { sameSite } }, countVisits);
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)?.attributes['samesite']).toBe(expected);
  });

  it("sameSite 'none' needs secure: true", async () => {
    expect(() => session({ secret: SECRET, cookie: { sameSite: 'none' } })).toThrow(/secure/);
    const { app } = createApp({ cookie: { sameSite: 'none', secure: true }, proxy: true }, countVisits);
    const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(res)?.attributes).toMatchObject({ samesite: 'None', secure: true });
  });

  it("sameSite 'auto' is None over HTTPS and Lax over HTTP, per request (express-session 1.19)", async () => {
    const { app } = createApp({ cookie: { sameSite: 'auto' }, proxy: true }, countVisits);
    const https = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(https)?.attributes['samesite']).toBe('None');
    expect(sessionCookie(https)?.attributes['secure']).toBe(true);
    const http = await request(app).get('/').expect(200);
    expect(sessionCookie(http)?.attributes['samesite']).toBe('Lax');
  });

  it('a cookie function of the request sets the attributes per request, and they are checked', async () => {
    const { app } = createApp(
      { cookie: (req) => ({ path: req.url?.startsWith('/admin') ? '/admin' : '/', maxAge: req.url?.startsWith('/admin') ? 60_000 : null }) },
      countVisits,
    );
    const admin = await request(app).get('/admin/x').expect(200);
    expect(sessionCookie(admin)?.attributes['path']).toBe('/admin');
    expect(sessionCookie(admin)?.attributes['max-age']).toBe('60');
    const root = await request(app).get('/').expect(200);
    expect(sessionCookie(root)?.attributes['path']).toBe('/');
    expect(sessionCookie(root)?.attributes['max-age']).toBeUndefined();
    // What the function returns is checked like the option itself: a bad value is an error for
    // that request, passed to the app's error handler.
    const bad = createApp({ cookie: () => ({ domain: 'example.com:8080' }) }, countVisits);
    await request(bad.app).get('/').expect(500, 'INVALID_OPTION');
  });

  it('httpOnly: false is ignored: the cookie is always HttpOnly (tessera)', async () => {
    const { app } = createApp({ cookie: { httpOnly: false } }, (req, res) => {
      sess(req).cookie.httpOnly = false;
      countVisits(req, res);
    });
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)?.attributes['httponly']).toBe(true);
  });

  it('partitioned and priority set their attributes', async () => {
    const { app } = createApp({ cookie: { secure: true, partitioned: true, priority: 'high' }, proxy: true }, countVisits);
    const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(res)?.attributes).toMatchObject({ partitioned: true, priority: 'High', secure: true });
    const { app: plain } = createApp({ cookie: { partitioned: false } }, countVisits);
    const res2 = await request(plain).get('/').expect(200);
    expect(sessionCookie(res2)?.attributes['partitioned']).toBeUndefined();
  });

  describe('secure', () => {
    it('true: sets Secure over HTTPS', async () => {
      const { app } = createApp({ cookie: { secure: true }, proxy: true }, countVisits);
      const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
      expect(sessionCookie(res)?.attributes['secure']).toBe(true);
    });

    it('true: no cookie and no stored session over plain HTTP (browsers would drop it), as express-session', async () => {
      const store = new TesseraMemoryStore();
      const { app } = createApp({ cookie: { secure: true }, store }, countVisits);
      const res = await request(app).get('/').expect(200, '1');
      expect(sessionCookie(res)).toBeUndefined();
      expect(store.size).toBe(0);
    });

    it('true: the Secure cookie is sent over http://localhost, where browsers keep it', async () => {
      const { app } = createApp({ cookie: { secure: true } }, countVisits);
      const res = await request(app).get('/').set('Host', 'localhost:3000').expect(200, '1');
      expect(sessionCookie(res)?.attributes['secure']).toBe(true);
      await request(app).get('/').set('Host', 'localhost:3000').set('Cookie', cookieOf(res)).expect(200, '2');
    });

    it("'auto': Secure when the request is secure, not otherwise", async () => {
      const { app } = createApp({ cookie: { secure: 'auto' }, proxy: true }, countVisits);
      const https = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
      expect(sessionCookie(https)?.attributes['secure']).toBe(true);
      const http = await request(app).get('/').expect(200);
      expect(sessionCookie(http)?.attributes['secure']).toBeUndefined();
    });

    it("defaults to 'auto' outside production (tessera; express-session: false)", async () => {
      const { app } = createApp({}, countVisits);
      app.set('trust proxy', true);
      const https = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
      expect(sessionCookie(https)?.attributes['secure']).toBe(true);
      const http = await request(app).get('/').expect(200);
      expect(sessionCookie(http)?.attributes['secure']).toBeUndefined();
    });

    it('defaults to true in production, and refuses false there unless allowInsecureCookie (tessera)', async () => {
      vi.stubEnv('NODE_ENV', 'production');
      try {
        const { app } = createApp({ store: new TesseraMemoryStore(), proxy: true }, countVisits);
        const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200);
        // The default true comes from tessera, not the app.
        expect(sessionCookie(res)?.attributes['secure']).toBe(true);
        expect(() => session({ secret: SECRET, store: new TesseraMemoryStore(), cookie: { secure: false } })).toThrow(/allowInsecureCookie/);
        expect(() =>
          session({ secret: SECRET, store: new TesseraMemoryStore(), cookie: { secure: false }, allowInsecureCookie: true }),
        ).not.toThrow();
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });
});

describe('genid', () => {
  it('is accepted and never called: tokens are always 256-bit CSPRNG values (tessera)', async () => {
    const genid = vi.fn(() => 'apple');
    let seenId = '';
    const { app } = createApp({ genid }, (req, res) => {
      sess(req)['n'] = 1;
      seenId = sessionId(req);
      res.send(sess(req).id);
    });
    const a = await request(app).get('/').expect(200);
    const b = await request(app).get('/').expect(200);
    expect(genid).not.toHaveBeenCalled();
    const valueA = sessionCookie(a)!.value;
    const valueB = sessionCookie(b)!.value;
    expect(valueA).toMatch(TESSERA_VALUE);
    expect(valueA).not.toContain('apple');
    expect(tokenOf(valueA)).not.toBe(tokenOf(valueB));
    // 32 random bytes, base64url: 43 characters, and no two alike.
    expect(Buffer.from(tokenOf(valueA), 'base64url')).toHaveLength(32);
    expect(seenId).toBe(storeKeyOfValue(valueB));
  });

  it('must be a function when given, as in express-session', () => {
    expect(() => session({ secret: SECRET, genid: 'bogus!' as never })).toThrow(/genid/);
  });
});

describe('resave', () => {
  it('defaults to false: an unchanged session is not written (tessera; express-session: true)', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      res.send(String(sess(req)['user']));
    });
    const sets = countCalls(store, 'set');
    const first = await request(app).get('/set').expect(200, 'bob');
    expect(sets.count).toBe(1);
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'bob');
    expect(sets.count).toBe(0);
  });

  it('true: an unchanged session is written on every request', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, resave: true }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      res.send(String(sess(req)['user']));
    });
    const sets = countCalls(store, 'set');
    const first = await request(app).get('/set').expect(200, 'bob');
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'bob');
    expect(sets.count).toBe(1);
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'bob');
    expect(sets.count).toBe(1);
  });

  it('false: a changed session is still written, a read-only one is not', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, resave: false }, (req, res) => {
      if (req.method === 'PUT') sess(req)['token'] = req.path.slice(1);
      res.send(`token=${String(sess(req)['token'] ?? '')}`);
    });
    const sets = countCalls(store, 'set');
    const first = await request(app).put('/w6RHhwaA').expect(200, 'token=w6RHhwaA');
    expect(sets.count).toBe(1);
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'token=w6RHhwaA');
    expect(sets.count).toBe(0);
    await request(app).put('/zfQ3rzM3').set('Cookie', cookieOf(first)).expect(200, 'token=zfQ3rzM3');
    expect(sets.count).toBe(1);
  });

  it('false: a change inside a nested object counts as a change', async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, resave: false }, (req, res) => {
      const s = sess(req);
      const user = (s['user'] ?? (s['user'] = { name: 'bob', cookie: 0 })) as { name: string; cookie: number };
      user.cookie++;
      res.send(String(user.cookie));
    });
    const sets = countCalls(store, 'set');
    const first = await request(app).get('/').expect(200, '1');
    sets.reset();
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(sets.count).toBe(1);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '3');
  });
});

describe('saveUninitialized', () => {
  it('defaults to false: no store write and no cookie for an untouched session (tessera; express-session: true)', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store });
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(sets.count).toBe(0);
  });

  it('true: stores a new empty session and sets its cookie', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store, saveUninitialized: true });
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)?.value).toMatch(TESSERA_VALUE);
    expect(sets.count).toBe(1);
  });

  it('false: a session that was only read stays uninitialized; a changed one is saved', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store, saveUninitialized: false }, (req, res) => {
      const s = sess(req);
      if (req.path === '/write') s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
      res.send(String(s['count']));
    });
    const read = await request(app).get('/read').expect(200, 'undefined');
    expect(setCookies(read)).toEqual([]);
    expect(sets.count).toBe(0);
    const write = await request(app).get('/write').expect(200, '1');
    expect(sessionCookie(write)?.value).toMatch(TESSERA_VALUE);
    expect(sets.count).toBe(1);
  });

  it('false: an uninitialized session with a persistent cookie is never touched', async () => {
    const store = new session.MemoryStore();
    const touch = vi.spyOn(store, 'touch');
    const { app } = createApp({ store, saveUninitialized: false, cookie: { maxAge: MINUTE } });
    await request(app).get('/').expect(200);
    expect(touch).not.toHaveBeenCalled();
  });
});

describe('rolling', () => {
  it('defaults to false: no Set-Cookie on a request that changed nothing', async () => {
    const { app } = createApp({ cookie: { maxAge: MINUTE } }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      res.end();
    });
    const first = await request(app).get('/set').expect(200);
    expect(sessionCookie(first)).toBeDefined();
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200);
    expect(setCookies(second)).toEqual([]);
  });

  it('true: sends the cookie on every response, with a renewed expiry', async () => {
    const clock = fakeClock();
    const { app } = createApp({ rolling: true, cookie: { maxAge: 10 * MINUTE }, now: clock.now }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      res.end();
    });
    const first = await request(app).get('/set').expect(200);
    const firstExpires = Date.parse(String(sessionCookie(first)?.attributes['expires']));
    clock.advance(5 * MINUTE);
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200);
    const cookie = sessionCookie(second);
    expect(cookie?.value).toBe(sessionCookie(first)?.value);
    expect(Date.parse(String(cookie?.attributes['expires'])) - firstExpires).toBe(5 * MINUTE);
  });

  it('true with saveUninitialized false: no cookie for an uninitialized session', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store, rolling: true, saveUninitialized: false });
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(sets.count).toBe(0);
  });

  it('true with saveUninitialized true: stores the session and sets the cookie', async () => {
    const store = new session.MemoryStore();
    const sets = countCalls(store, 'set');
    const { app } = createApp({ store, rolling: true, saveUninitialized: true });
    const res = await request(app).get('/').expect(200);
    expect(sessionCookie(res)).toBeDefined();
    expect(sets.count).toBe(1);
  });

  it('true: a browser-session cookie is sent again too', async () => {
    const { app } = createApp({ rolling: true }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      res.end();
    });
    const first = await request(app).get('/set').expect(200);
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200);
    expect(sessionCookie(second)?.value).toBe(sessionCookie(first)?.value);
    expect(sessionCookie(second)?.attributes['expires']).toBeUndefined();
  });
});

describe('proxy', () => {
  // Observed through secure: 'auto', the setting that follows the request. (With secure: true the
  // cookie always carries Secure in tessera, so proxy has nothing to decide there.)
  const autoApp = (proxy: boolean | undefined, trust: boolean) => {
    const { app } = createApp({ cookie: { secure: 'auto' }, ...(proxy !== undefined && { proxy }) }, (req, res) => {
      sess(req)['n'] = 1;
      res.send(String(req.secure));
    });
    if (trust) app.set('trust proxy', true);
    return app;
  };
  const secureOf = (res: request.Response) => sessionCookie(res)?.attributes['secure'] === true;

  it('true: trusts X-Forwarded-Proto, as a string or a list (first entry)', async () => {
    const app = autoApp(true, false);
    expect(secureOf(await request(app).get('/').set('X-Forwarded-Proto', 'https'))).toBe(true);
    expect(secureOf(await request(app).get('/').set('X-Forwarded-Proto', 'https,http'))).toBe(true);
    expect(secureOf(await request(app).get('/').set('X-Forwarded-Proto', 'http,https'))).toBe(false);
    expect(secureOf(await request(app).get('/'))).toBe(false);
  });

  it("false: ignores X-Forwarded-Proto and Express's req.secure", async () => {
    const app = autoApp(false, true);
    const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(200, 'true');
    expect(secureOf(res)).toBe(false);
  });

  it("undefined: follows Express's trust proxy setting (req.secure)", async () => {
    const untrusted = await request(autoApp(undefined, false)).get('/').set('X-Forwarded-Proto', 'https').expect(200, 'false');
    expect(secureOf(untrusted)).toBe(false);
    const trusted = await request(autoApp(undefined, true)).get('/').set('X-Forwarded-Proto', 'https').expect(200, 'true');
    expect(secureOf(trusted)).toBe(true);
  });

  it('a direct TLS connection is secure whatever proxy says', async () => {
    const middleware = session({ secret: SECRET, proxy: false, cookie: { secure: 'auto' } });
    const app = express();
    app.use((req, _res, next) => {
      // What a TLS socket looks like to the middleware.
      Object.defineProperty(req.socket, 'encrypted', { value: true, configurable: true });
      next();
    });
    app.use(middleware);
    app.use((req, res) => {
      sess(req)['n'] = 1;
      res.end();
    });
    expect(secureOf(await request(app).get('/'))).toBe(true);
  });
});

describe('unset', () => {
  const nullOnSecondVisit = (req: express.Request, res: express.Response) => {
    const s = sess(req);
    s['count'] = ((s['count'] as number | undefined) ?? 0) + 1;
    const count = s['count'] as number;
    if (count === 2) setSession(req, null);
    res.send(String(count));
  };
  const length = (store: InstanceType<typeof session.MemoryStore>) =>
    new Promise<number>((resolve) => store.length((_e, n) => resolve(n ?? -1)));

  it("defaults to 'keep': the stored session stays, this request's changes are dropped", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, nullOnSecondVisit);
    const first = await request(app).get('/').expect(200, '1');
    expect(await length(store)).toBe(1);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(await length(store)).toBe(1);
    // The increment of the second request was not saved.
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
  });

  it("'destroy': req.session = null deletes the session", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, unset: 'destroy' }, nullOnSecondVisit);
    const first = await request(app).get('/').expect(200, '1');
    expect(await length(store)).toBe(1);
    const second = await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '2');
    expect(await length(store)).toBe(0);
    // tessera also clears the cookie of a destroyed session.
    expect(isClearing(sessionCookie(second))).toBe(true);
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '1');
  });

  it("'destroy': delete req.session works the same", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, unset: 'destroy' }, (req, res) => {
      const s = sess(req);
      if (req.path === '/set') s['user'] = 'bob';
      else delete (req as { session?: unknown }).session;
      res.end();
    });
    const first = await request(app).get('/set').expect(200);
    expect(await length(store)).toBe(1);
    await request(app).get('/delete').set('Cookie', cookieOf(first)).expect(200);
    expect(await length(store)).toBe(0);
  });

  it("'destroy' on a new session: nothing stored, no cookie", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store, unset: 'destroy', saveUninitialized: true }, (req, res) => {
      setSession(req, null);
      res.end();
    });
    const res = await request(app).get('/').expect(200);
    expect(setCookies(res)).toEqual([]);
    expect(await length(store)).toBe(0);
  });

  it('refuses other values', () => {
    expect(() => session({ secret: SECRET, unset: 'bogus!' as never })).toThrow(/unset/);
  });
});

/** An app whose error handler records what it receives (and answers when it still can). */
function appSeeingErrors(options: Parameters<typeof createApp>[0], handler: Parameters<typeof createApp>[1]) {
  const seen: unknown[] = [];
  const app = express();
  app.use(session({ secret: SECRET, ...options }));
  app.use((req, res, next) => void Promise.resolve(handler!(req, res, next)).catch(next));
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    seen.push(error);
    if (!res.headersSent) res.status((error as { status?: number }).status ?? 500).type('text').send((error as { code?: string }).code);
  });
  return { app, seen };
}

describe('store errors reach the app (next(err), as in express-session)', () => {
  it('a failing get passes STORE_UNAVAILABLE (503, the driver error as cause) to the error handler, never a silent new session', async () => {
    const store = new session.MemoryStore();
    const { app, seen } = appSeeingErrors({ store }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    store.get = (_sid, cb) => cb(new Error('boom!'));
    const res = await request(app).get('/').set('Cookie', cookieOf(first)).expect(503, 'STORE_UNAVAILABLE');
    expect(setCookies(res)).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, message: 'boom!' });
    expect((seen[0] as Error).cause).toMatchObject({ message: 'boom!' });
  });

  it("a get error with code 'ENOENT' means not found, as in express-session", async () => {
    const store = new session.MemoryStore();
    const { app } = createApp({ store }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    store.get = (_sid, cb) => cb(Object.assign(new Error('no such file'), { code: 'ENOENT' }));
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, '1');
  });

  it('a failing set sends the response the app wrote, without a cookie, then passes the error on', async () => {
    const store = new session.MemoryStore();
    store.set = (_sid, _s, cb) => cb?.(new Error('boom!'));
    const { app, seen } = appSeeingErrors({ store }, countVisits);
    const res = await request(app).get('/').expect(200, '1');
    expect(setCookies(res)).toEqual([]);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'boom!' });
  });

  it("with saveErrors: 'instead-of-response', a failing set goes to the error handler before anything is sent", async () => {
    const store = new session.MemoryStore();
    store.set = (_sid, _s, cb) => cb?.(new Error('boom!'));
    const { app, seen } = appSeeingErrors({ store, saveErrors: 'instead-of-response' }, countVisits);
    const res = await request(app).get('/').expect(503, 'STORE_UNAVAILABLE');
    expect(setCookies(res)).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('storeErrorStatus sets the status of the error the app receives', async () => {
    const store = new session.MemoryStore();
    store.set = (_sid, _s, cb) => cb?.(new Error('boom!'));
    const { app } = appSeeingErrors({ store, storeErrorStatus: 500, saveErrors: 'instead-of-response' }, countVisits);
    await request(app).get('/').expect(500, 'STORE_UNAVAILABLE');
  });

  it('storeErrorStatus also sets the status of a failing load (express-session answers 500 there)', async () => {
    const store = new session.MemoryStore();
    const { app, seen } = appSeeingErrors({ store, storeErrorStatus: 500 }, countVisits);
    const first = await request(app).get('/').expect(200, '1');
    store.get = (_sid, cb) => cb(new Error('boom!'));
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(500, 'STORE_UNAVAILABLE');
    expect((seen[0] as Error).cause).toMatchObject({ message: 'boom!' });
  });

  it('a failing destroy (unset: destroy) passes the error on after the response', async () => {
    const store = new session.MemoryStore();
    const { app, seen } = appSeeingErrors({ store, unset: 'destroy' }, (req, res) => {
      if (req.path === '/set') sess(req)['user'] = 'bob';
      else setSession(req, null);
      res.send('done');
    });
    const first = await request(app).get('/set').expect(200);
    store.destroy = (_sid, cb) => cb?.(new Error('boom!'));
    await request(app).get('/').set('Cookie', cookieOf(first)).expect(200, 'done');
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'boom!' });
  });
  it('unset: destroy asks the store even when the app sets req.session = null without reading it, as express-session does', async () => {
    const store = new session.MemoryStore();
    const destroyed: string[] = [];
    store.destroy = (sid, cb) => {
      destroyed.push(sid);
      cb?.(new Error('boom!'));
    };
    const { app, seen } = appSeeingErrors({ store, unset: 'destroy' }, (req, res) => {
      setSession(req, null);
      res.send('done');
    });
    const res = await request(app).get('/').expect(200, 'done');
    expect(setCookies(res)).toEqual([]);
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    expect(destroyed).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'boom!' });
  });
});
