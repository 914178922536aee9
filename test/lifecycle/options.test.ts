/**
 * Options a user gets wrong are refused when the app starts, never on a request: both through
 * the core (`createSessions`) and the Express drop-in (`session()`), with an `INVALID_OPTION`
 * error that names the option. Values an app computes from user input at runtime (a
 * "remember me for N days" cookie lifetime) never crash the process. And the drop-in passes
 * tessera's own options to the engine unchanged.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import connectPgSimple from 'connect-pg-simple';
import expressSession from 'express-session';
import { Pool as PgPool } from 'pg';
import { createClient as createRedisClient } from 'redis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import { createSessions } from '../../src/core/engine.js';
import { TesseraError } from '../../src/core/errors.js';
import { OPTION_NAMES, type SessionOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/store/memory.js';
import { HOUR, MINUTE, SECOND, frozenClock } from '../helpers/clock.js';
import { cookieHeader, setCookiesNamed, theSetCookie } from '../helpers/cookies.js';
import { catchError } from '../helpers/errors.js';
import { DEFAULT_NAME, SECRET, buildApp, listen, sessionOf, type WhoAmI } from '../helpers/express-app.js';

const DAY = 24 * HOUR;
/** 400 days in seconds: the longest `Max-Age` browsers keep (RFC 6265bis). */
const MAX_AGE_CAP_SECONDS = 34_560_000;

function store(): MemoryStore {
  return new MemoryStore({ sweepIntervalMs: 0 });
}

/** The TesseraError a construction threw; fails the test if it threw nothing or something else. */
function refusal(construct: () => unknown): TesseraError {
  const error = catchError(construct);
  expect(error).toBeInstanceOf(TesseraError);
  return error as TesseraError;
}

/** A wrong option, as given to the core and to the drop-in, and what its message must name. */
interface Mistake {
  what: string;
  /** Given to `createSessions` (a non-`__Host-` cookie name, so domain and path are allowed at all). */
  core?: Record<string, unknown>;
  /** Given to `session()`. */
  express: Record<string, unknown>;
  /** What the message must say. */
  says: RegExp;
}

const coreCookie = (cookie: Record<string, unknown>) => ({ cookie: { name: 'sid', ...cookie } });

const MISTAKES: Mistake[] = [
  { what: 'a cookie domain with a port', core: coreCookie({ domain: 'example.com:8080' }), express: { cookie: { domain: 'example.com:8080' } }, says: /cookie: domain must be a host name/ },
  { what: 'a cookie domain with a scheme', core: coreCookie({ domain: 'https://example.com' }), express: { cookie: { domain: 'https://example.com' } }, says: /cookie: domain must be a host name/ },
  {
    what: 'a cookie domain with a line break (header injection)',
    core: coreCookie({ domain: 'example.com\r\nSet-Cookie: x=y' }),
    express: { cookie: { domain: 'example.com\r\nSet-Cookie: x=y' } },
    says: /cookie: domain must be a host name/,
  },
  {
    what: 'a clearOnDuplicate domain with a line break',
    core: coreCookie({ clearOnDuplicate: [{ domain: 'example.com\r\nSet-Cookie: x=y' }] }),
    express: { cookie: { clearOnDuplicate: [{ domain: 'example.com\r\nSet-Cookie: x=y' }] } },
    says: /cookie: clearOnDuplicate\[0\]\.domain must be a host name/,
  },
  { what: "a cookie path containing ';' (attribute injection)", core: coreCookie({ path: '/app;Domain=evil' }), express: { cookie: { path: '/app;Domain=evil' } }, says: /cookie: path/ },
  { what: "a cookie priority of 'urgent'", core: coreCookie({ priority: 'urgent' }), express: { cookie: { priority: 'urgent' } }, says: /cookie: priority/ },
  { what: 'a Clear-Site-Data value with a line break', core: { clearSiteData: '"cache"\r\nX-Injected: 1' }, express: { clearSiteData: '"cache"\r\nX-Injected: 1' }, says: /clearSiteData/ },
  { what: 'a misspelt option name, suggesting the closest one', core: { idleTimout: 30 * MINUTE }, express: { idleTimout: 30 * MINUTE }, says: /"idleTimout".*did you mean "idleTimeout"/ },
  { what: 'an idle timeout of 30 (seconds given for milliseconds)', core: { idleTimeout: 30 }, express: { idleTimeout: 30 }, says: /idleTimeout is in milliseconds.*30000/ },
  { what: "a string where a duration belongs ('30m')", core: { idleTimeout: '30m' }, express: { idleTimeout: '30m' }, says: /idleTimeout must be a number of milliseconds/ },
  { what: 'a rotation grace of 0', core: { rotationGrace: 0 }, express: { rotationGrace: 0 }, says: /rotationGrace/ },
  { what: 'a negative number of write retries', core: { maxWriteRetries: -1 }, express: { maxWriteRetries: -1 }, says: /maxWriteRetries/ },
  { what: 'a misspelt cookie attribute in the drop-in, suggesting maxAge', express: { cookie: { maxage: 1000 } }, says: /"maxage".*did you mean "maxAge"/ },
];

describe('options refused at construction', () => {
  for (const { what, core, says } of MISTAKES) {
    if (core === undefined) continue;
    it(`createSessions refuses ${what} with INVALID_OPTION naming the option`, () => {
      const error = refusal(() => createSessions({ secret: SECRET, store: store(), ...core } as unknown as SessionOptions));

      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(says);
      // The message is one safe log line: a line break in the value never reaches it raw.
      expect(error.message).not.toMatch(/[\r\n]/);
    });
  }

  for (const { what, express: options, says } of MISTAKES) {
    it(`session() refuses ${what} with INVALID_OPTION naming the option`, () => {
      const error = refusal(() => session({ secret: SECRET, store: store(), ...options } as unknown as ExpressSessionOptions));

      expect(error.code).toBe('INVALID_OPTION');
      expect(error.message).toMatch(says);
      expect(error.message).not.toMatch(/[\r\n]/);
    });
  }
});

/** Collects what reaches the process-wide crash handlers while a test runs. */
function crashSpy(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  const onException = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    seen,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/** Let pending microtasks and timers run, so a late rejection would be reported before asserting. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('cookie lifetimes beyond what browsers keep', () => {
  let spy: ReturnType<typeof crashSpy>;
  beforeEach(() => {
    spy = crashSpy();
  });
  afterEach(() => {
    spy.stop();
  });

  it('accepts cookie.maxAge: 1e16 in session() and sends Max-Age capped at 400 days on the first cookie', async () => {
    const clock = frozenClock();
    const t = buildApp({ store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now, cookie: { maxAge: 1e16 } });
    const server = await listen(t.app);
    try {
      const res = await request(server.server).post('/set/cart/apples').expect(200);

      const cookie = theSetCookie(res, DEFAULT_NAME);
      expect(cookie.attributes.get('max-age')).toBe(String(MAX_AGE_CAP_SECONDS));
      expect(new Date(String(cookie.attributes.get('expires'))).getTime()).toBe(clock.now() + MAX_AGE_CAP_SECONDS * SECOND);
      const again = await request(server.server).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200);
      expect((again.body as WhoAmI).data).toEqual({ cart: 'apples' });
    } finally {
      await server.close();
    }
    await settle();
    expect(spy.seen).toEqual([]);
  });

  it('accepts cookie.maxAge: 1e16 in createSessions and writes Max-Age capped at 400 days', async () => {
    const clock = frozenClock();
    const engine = createSessions({
      secret: SECRET,
      store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }),
      now: clock.now,
      cookie: { maxAge: 1e16 },
    });
    const rs = engine.blank({ cookie: undefined, secure: true });
    rs.data.set('cart', 'apples');
    await rs.save();

    const setCookie = rs.responseHeaders().find(([name]) => name === 'Set-Cookie')?.[1];
    expect(setCookie).toContain(`Max-Age=${MAX_AGE_CAP_SECONDS}`);
  });

  describe('"remember me for N days" taken from the request', () => {
    /** An app that sets `req.session.cookie.maxAge` from `?days=`, with its own error handler. */
    function rememberApp() {
      const clock = frozenClock();
      const handled: unknown[] = [];
      const app = express();
      app.use(session({ secret: SECRET, store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now }));
      app.post('/remember', (req, res) => {
        const s = sessionOf(req);
        s.cookie.maxAge = Number(req.query['days']) * DAY;
        s['remembered'] = true;
        res.json({ ok: true });
      });
      app.get('/whoami', (req, res) => {
        res.json({ data: req.tessera.data.snapshot() });
      });
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        handled.push(error);
        res.status(500).json({ handledBy: 'app' });
      });
      return { app, handled };
    }

    it.each(['1e11', '1e300'])('answers days=%s with 200 and a cookie capped at 400 days, and the session works after it', async (days) => {
      const { app, handled } = rememberApp();
      const server = await listen(app);
      try {
        const res = await request(server.server).post(`/remember?days=${days}`).expect(200);

        const cookie = theSetCookie(res, DEFAULT_NAME);
        expect(cookie.attributes.get('max-age')).toBe(String(MAX_AGE_CAP_SECONDS));
        const again = await request(server.server).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200);
        expect(again.body).toEqual({ data: { remembered: true } });
      } finally {
        await server.close();
      }
      await settle();
      expect(handled).toEqual([]);
      expect(spy.seen).toEqual([]);
    });

    it('answers days=abc with 200, ignoring the lifetime that is not a number (a browser-session cookie)', async () => {
      const { app, handled } = rememberApp();
      const server = await listen(app);
      try {
        const res = await request(server.server).post('/remember?days=abc').expect(200);

        const [cookie] = setCookiesNamed(res, DEFAULT_NAME);
        expect(cookie).toBeDefined();
        expect(cookie!.attributes.has('max-age')).toBe(false);
        expect(cookie!.attributes.has('expires')).toBe(false);
        const again = await request(server.server).get('/whoami').set('Cookie', cookieHeader(cookie!)).expect(200);
        expect(again.body).toEqual({ data: { remembered: true } });
      } finally {
        await server.close();
      }
      await settle();
      expect(handled).toEqual([]);
      expect(spy.seen).toEqual([]);
    });

    it('answers days=-5 with 200: an expiry in the past ends the session and clears the cookie, as it does in a browser', async () => {
      const { app, handled } = rememberApp();
      const server = await listen(app);
      try {
        const res = await request(server.server).post('/remember?days=-5').expect(200);

        const [cookie] = setCookiesNamed(res, DEFAULT_NAME);
        expect(cookie?.value).toBe('');
        expect(cookie?.attributes.get('expires')).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
      } finally {
        await server.close();
      }
      await settle();
      expect(handled).toEqual([]);
      expect(spy.seen).toEqual([]);
    });
  });
});

/**
 * A value (or several) for every core option the drop-in passes through, none of them its
 * default, including the falsy ones a `||` would lose. Keyed by option name.
 */
const PASS_THROUGH: Record<string, readonly unknown[]> = {
  idleTimeout: [20 * MINUTE],
  absoluteTimeout: [6 * HOUR],
  touchInterval: [0, 30 * SECOND],
  saveUninitialized: [true],
  rolling: [true],
  keepDataOnSignIn: [true, ['cart', 'theme']],
  maxSessionsPerUser: [1, 3],
  sessionLimitPolicy: ['reject'],
  clearSiteData: [false, '"cache"'],
  maxWriteRetries: [0, 5],
  storeTimeout: [250, Infinity],
  allowInsecureCookie: [true],
  rotateEvery: [Infinity, 10 * MINUTE],
  rotationGrace: [5 * SECOND],
  onTokenReuse: ['report'],
  maxClockSkew: [0, 5 * MINUTE],
  anomaly: [false, { userAgent: false, ipPrefix: false, policy: 'revoke' }, { userAgent: true, ipPrefix: { v4: 16, v6: 48 }, policy: 'require-reauth' }],
  encryptData: [true],
  maxDataBytes: [1024, Infinity],
  userIdFrom: [(data: Readonly<Record<string, unknown>>) => data['user']],
  transport: ['header', 'both'],
  tokenHeader: ['x-session-token'],
  responseTokenHeader: ['X-Session'],
};
/** Options that are not plain settings of `engine.options`. */
const NOT_SETTINGS = ['secret', 'store', 'cookie', 'now', 'onEvent'];
const SETTINGS = OPTION_NAMES.filter((name) => !NOT_SETTINGS.includes(name));

describe('the Express drop-in passes tessera options through unchanged', () => {
  it('gives maxWriteRetries: 0 to the engine (no retry), not the default', () => {
    const middleware = session({ secret: SECRET, store: store(), maxWriteRetries: 0 });

    expect(middleware.engine.options.maxWriteRetries).toBe(0);
  });

  it('has a value to try for every core option', () => {
    expect(Object.keys(PASS_THROUGH).sort()).toEqual([...SETTINGS].sort());
  });

  for (const name of SETTINGS) {
    for (const value of PASS_THROUGH[name] ?? []) {
      const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      it(`gives ${name}: ${shown} to the engine as createSessions takes it`, () => {
        const viaExpress = session({ secret: SECRET, store: store(), [name]: value } as ExpressSessionOptions).engine.options;
        const viaCore = createSessions({ secret: SECRET, store: store(), [name]: value } as SessionOptions).options;

        expect(viaExpress[name as keyof typeof viaExpress]).toEqual(value);
        expect(viaCore[name as keyof typeof viaCore]).toEqual(value);
      });
    }
  }
});

describe('a store option that is not a store is refused at construction, saying what to pass', () => {
  /** Real clients, never connected: what people pass by mistake. */
  const redisClient = createRedisClient({ url: 'redis://127.0.0.1:6379' });
  const pgPool = new PgPool({ connectionString: 'postgres://tessera:hunter2@127.0.0.1:5432/app' });
  afterAll(async () => {
    await pgPool.end();
  });

  const cases: Array<{ what: string; value: unknown; says: RegExp }> = [
    { what: 'a connection string', value: 'redis://user:hunter2@127.0.0.1:6379', says: /a string .*pass a store object/ },
    { what: 'an empty object', value: {}, says: /an object with none of those methods/ },
    { what: 'a class', value: MemoryStore, says: /class or function MemoryStore: pass an instance \(new MemoryStore/ },
    { what: 'express-session’s MemoryStore class', value: expressSession.MemoryStore, says: /pass an instance \(new MemoryStore/ },
    { what: 'a raw node-redis client', value: redisClient, says: /a Redis client: wrap it in a store, new RedisStore\(\{ client \}\)/ },
    { what: 'a pg Pool', value: pgPool, says: /a database client or pool: wrap it in a store, new PostgresStore/ },
    { what: 'an object missing some methods', value: { get() {}, set() {} }, says: /an object without/ },
  ];
  for (const { what, value, says } of cases) {
    it(`refuses ${what} in the drop-in and in the core`, () => {
      const viaExpress = refusal(() => session({ secret: SECRET, store: value as never }));
      expect(viaExpress.code).toBe('INVALID_OPTION');
      expect(viaExpress.message).toMatch(/^store: expected a tessera Store/);
      expect(viaExpress.message).toMatch(says);
      expect(viaExpress.message).not.toContain('hunter2');
      const viaCore = refusal(() => createSessions({ secret: SECRET, store: value as never }));
      expect(viaCore.message).toMatch(says);
      expect(viaCore.message).not.toContain('hunter2');
    });
  }

  it('tells a core user with an express-session store to wrap it in LegacyStore', () => {
    const error = refusal(() => createSessions({ secret: SECRET, store: new expressSession.MemoryStore() as never }));
    expect(error.message).toMatch(/an express-session store: wrap it, new LegacyStore\(store\)/);
  });

  it('refuses a migrateFrom that is not an express-session store', () => {
    expect(refusal(() => session({ secret: SECRET, store: store(), migrateFrom: store() as never })).message).toMatch(
      /^migrateFrom: expected an express-session store/,
    );
  });

  it('accepts every kind of store it supports', () => {
    expect(() => session({ secret: SECRET, store: store() })).not.toThrow();
    expect(() => session({ secret: SECRET, store: new expressSession.MemoryStore() })).not.toThrow();
    expect(() => session({ secret: SECRET, store: store(), migrateFrom: new expressSession.MemoryStore() })).not.toThrow();
    // connect-pg-simple's store has a query method, like a pool: it is still a store.
    const PgSessionStore = connectPgSimple(expressSession);
    expect(() => session({ secret: SECRET, store: new PgSessionStore({ pool: pgPool, pruneSessionInterval: false }) })).not.toThrow();
  });
});
