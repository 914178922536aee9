/**
 * Security properties of the Express drop-in, over real HTTP (supertest against Express 5):
 * token replacement on sign-in, sign-out, cookie attributes, what the store sees, timeouts,
 * key rotation and what events carry. Time is a frozen clock shared by the engine and store.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { HOUR, MINUTE, SECOND, T0, frozenClock, tickingClock, type TestClock } from '../helpers/clock.js';
import { CookieJar,
  cookieHeader,
  isClearing,
  parseSignedValue,
  storeKeyOfValue,
  setCookieLines,
  setCookiesNamed,
  sha256Base64url,
  theSetCookie,
  type SetCookie,
} from '../helpers/cookies.js';
import { DEFAULT_NAME, OTHER_SECRET, SECRET, buildApp, sessionOf, type AppOptions, type TestApp, type WhoAmI } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

interface Setup extends TestApp {
  clock: TestClock;
  store: RecordingStore;
}

/** An app on a recording MemoryStore, engine and store on one frozen clock. */
function setup(options: AppOptions = {}, clock: TestClock = frozenClock()): Setup {
  const store = new RecordingStore(new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }));
  return { clock, store, ...buildApp({ store, now: clock.now, ...options }) };
}

/** Create an anonymous session holding `cart=apples`; returns its cookie. */
async function anonymousSession(t: TestApp, name = DEFAULT_NAME): Promise<SetCookie> {
  const res = await request(t.app).post('/set/cart/apples').expect(200);
  return theSetCookie(res, name);
}

async function whoami(t: TestApp, cookie: SetCookie | string): Promise<{ body: WhoAmI; res: request.Response }> {
  const res = await request(t.app)
    .get('/whoami')
    .set('Cookie', typeof cookie === 'string' ? cookie : cookieHeader(cookie))
    .expect(200);
  return { body: res.body as WhoAmI, res };
}

const NO_SESSION: WhoAmI = { userId: null, data: {}, isNew: true };

describe('sign-in replaces the token', () => {
  it('gives the signed-in session a new token and, by default, none of the anonymous data', async () => {
    const t = setup();
    const before = await anonymousSession(t);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(before)).expect(200);
    const after = theSetCookie(signIn, DEFAULT_NAME);

    expect(parseSignedValue(after.value).token).not.toBe(parseSignedValue(before.value).token);
    expect((await whoami(t, after)).body).toEqual({ userId: 'alice', data: {}, isNew: false });
  });

  it("carries only the keys keepDataOnSignIn names: a planted returnTo stays behind, the cart comes along", async () => {
    const t = setup({ keepDataOnSignIn: ['cart'] });
    const cart = await anonymousSession(t);
    await request(t.app).post('/set/returnTo/https%3A%2F%2Fphish.example').set('Cookie', cookieHeader(cart)).expect(200);
    expect((await whoami(t, cart)).body.data).toEqual({ cart: 'apples', returnTo: 'https://phish.example' });
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(cart)).expect(200);
    const after = theSetCookie(signIn, DEFAULT_NAME);
    expect((await whoami(t, after)).body).toEqual({ userId: 'alice', data: { cart: 'apples' }, isNew: false });
  });

  it('carries everything with keepDataOnSignIn: true', async () => {
    const t = setup({ keepDataOnSignIn: true });
    const before = await anonymousSession(t);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(before)).expect(200);
    expect((await whoami(t, theSetCookie(signIn, DEFAULT_NAME))).body).toEqual({ userId: 'alice', data: { cart: 'apples' }, isNew: false });
  });

  it('refuses a keepDataOnSignIn that is neither a boolean nor a list of keys, at construction', () => {
    expect(() => setup({ keepDataOnSignIn: 'cart' as never })).toThrow(/keepDataOnSignIn must be true, false or a list of data keys/);
  });

  it('makes a cookie issued before sign-in worthless: no session, no user, and the store no longer has its key', async () => {
    const t = setup();
    const before = await anonymousSession(t);
    const oldKey = storeKeyOfValue(before.value);
    expect(await t.store.inner.get(oldKey)).not.toBeNull();

    await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(before)).expect(200);

    const replay = await whoami(t, before);
    expect(replay.body).toEqual(NO_SESSION);
    expect(isClearing(theSetCookie(replay.res, DEFAULT_NAME))).toBe(true);
    expect(await t.store.inner.get(oldKey)).toBeNull();
  });

  it('does not let a request carrying the pre-sign-in cookie write into the signed-in session', async () => {
    const t = setup();
    const before = await anonymousSession(t);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(before)).expect(200);
    const after = theSetCookie(signIn, DEFAULT_NAME);

    const planted = await request(t.app).post('/set/role/admin').set('Cookie', cookieHeader(before)).expect(200);
    const plantedCookie = theSetCookie(planted, DEFAULT_NAME);

    expect(parseSignedValue(plantedCookie.value).token).not.toBe(parseSignedValue(after.value).token);
    expect((await whoami(t, after)).body).toEqual({ userId: 'alice', data: {}, isNew: false });
    expect((await whoami(t, plantedCookie)).body).toEqual({ userId: null, data: { role: 'admin' }, isNew: false });
  });
});

describe("express-session's regenerate() login pattern", () => {
  it('makes a cookie issued before regenerate() worthless after it', async () => {
    const t = setup();
    t.app.post('/login/:user', (req, res, next) => {
      void sessionOf(req).regenerate((error) => {
        if (error) return next(error);
        sessionOf(req)['user'] = String(req.params['user']);
        res.json({ ok: true });
      });
    });
    const before = await anonymousSession(t);

    const login = await request(t.app).post('/login/alice').set('Cookie', cookieHeader(before)).expect(200);
    const after = theSetCookie(login, DEFAULT_NAME);

    expect(parseSignedValue(after.value).token).not.toBe(parseSignedValue(before.value).token);
    expect((await whoami(t, after)).body.data).toEqual({ user: 'alice' });
    expect((await whoami(t, before)).body).toEqual(NO_SESSION);
    expect(await t.store.inner.get(storeKeyOfValue(before.value))).toBeNull();
  });
});

describe('sign-out', () => {
  it('makes a cookie replayed after sign-out give no session and no user', async () => {
    const t = setup();
    const anon = await anonymousSession(t);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200);
    const cookie = theSetCookie(signIn, DEFAULT_NAME);
    const key = storeKeyOfValue(cookie.value);

    await request(t.app).post('/signout').set('Cookie', cookieHeader(cookie)).expect(200);

    expect((await whoami(t, cookie)).body).toEqual(NO_SESSION);
    expect(await t.store.inner.get(key)).toBeNull();
    expect(await t.store.inner.listByUser('alice')).toEqual([]);
  });

  it('clears the cookie and sends Clear-Site-Data and Cache-Control: no-store on the sign-out response', async () => {
    const t = setup();
    const anon = await anonymousSession(t);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200);
    const cookie = theSetCookie(signIn, DEFAULT_NAME);

    const res = await request(t.app).post('/signout').set('Cookie', cookieHeader(cookie)).expect(200);

    const cleared = theSetCookie(res, DEFAULT_NAME);
    expect(isClearing(cleared)).toBe(true);
    expect(cleared.attributes.get('path')).toBe('/');
    expect(cleared.attributes.get('httponly')).toBe(true);
    expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('cookie attributes', () => {
  it('sets HttpOnly, SameSite=Lax and Path=/, no Domain, and no expiry on the default cookie', async () => {
    const t = setup();
    const cookie = await anonymousSession(t);

    expect(cookie.attributes.get('httponly')).toBe(true);
    expect(cookie.attributes.get('samesite')).toBe('Lax');
    expect(cookie.attributes.get('path')).toBe('/');
    expect(cookie.attributes.has('domain')).toBe(false);
    expect(cookie.attributes.has('max-age')).toBe(false);
    expect(cookie.attributes.has('expires')).toBe(false);
    // 'auto' over plain HTTP: no Secure.
    expect(cookie.attributes.has('secure')).toBe(false);
  });

  it("writes a Secure __Host- cookie with name '__Host-sid' and cookie.secure true over HTTPS", async () => {
    // supertest speaks plain HTTP: a trusted proxy says the client connection was HTTPS.
    const t = setup({ name: '__Host-sid', cookie: { secure: true }, proxy: true });
    const res = await request(t.app).post('/set/cart/apples').set('X-Forwarded-Proto', 'https').expect(200);
    const cookie = theSetCookie(res, '__Host-sid');

    expect(cookie.attributes.get('secure')).toBe(true);
    expect(cookie.attributes.get('httponly')).toBe(true);
    expect(cookie.attributes.get('samesite')).toBe('Lax');
    expect(cookie.attributes.get('path')).toBe('/');
    expect(cookie.attributes.has('domain')).toBe(false);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await whoami(t, cookie)).body.data).toEqual({ cart: 'apples' });
  });

  it("follows Express's trust proxy setting for a secure: 'auto' cookie when proxy is unset", async () => {
    const t = setup({ cookie: { secure: 'auto' } });
    t.app.set('trust proxy', true);
    const res = await request(t.app).post('/set/a/1').set('X-Forwarded-Proto', 'https').expect(200);

    expect(theSetCookie(res, DEFAULT_NAME).attributes.get('secure')).toBe(true);
  });

  it("makes a secure: 'auto' cookie Secure when a trusted proxy says X-Forwarded-Proto: https", async () => {
    const t = setup({ proxy: true, cookie: { secure: 'auto' } });
    const viaHttps = await request(t.app).post('/set/a/1').set('X-Forwarded-Proto', 'https').expect(200);
    const viaHttp = await request(t.app).post('/set/a/1').set('X-Forwarded-Proto', 'http').expect(200);

    expect(theSetCookie(viaHttps, DEFAULT_NAME).attributes.get('secure')).toBe(true);
    expect(theSetCookie(viaHttp, DEFAULT_NAME).attributes.has('secure')).toBe(false);
  });

  it("ignores X-Forwarded-Proto for a secure: 'auto' cookie when proxy is false", async () => {
    const t = setup({ proxy: false, cookie: { secure: 'auto' } });
    const res = await request(t.app).post('/set/a/1').set('X-Forwarded-Proto', 'https').expect(200);

    expect(theSetCookie(res, DEFAULT_NAME).attributes.has('secure')).toBe(false);
  });

  it('adds Cache-Control: no-store to every response that sets or clears the cookie', async () => {
    const t = setup({ secret: [SECRET, OTHER_SECRET] });
    const created = await request(t.app).post('/set/cart/apples').expect(200);
    const anon = theSetCookie(created, DEFAULT_NAME);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200);
    const signedIn = theSetCookie(signIn, DEFAULT_NAME);
    const stale = await request(t.app).get('/whoami').set('Cookie', cookieHeader(anon)).expect(200);
    const signOut = await request(t.app).post('/signout').set('Cookie', cookieHeader(signedIn)).expect(200);

    for (const res of [created, signIn, stale, signOut]) {
      expect(setCookiesNamed(res, DEFAULT_NAME)).toHaveLength(1);
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('sets the cookie with Cache-Control: no-store on a streamed response, and saves the session', async () => {
    const t = setup();
    t.app.get('/stream', (req, res) => {
      sessionOf(req)['streamed'] = 'yes';
      res.write('part one, ');
      res.end('part two');
    });

    const res = await request(t.app).get('/stream').expect(200);

    expect(res.text).toBe('part one, part two');
    expect(res.headers['cache-control']).toBe('no-store');
    const cookie = theSetCookie(res, DEFAULT_NAME);
    expect((await whoami(t, cookie)).body.data).toEqual({ streamed: 'yes' });
  });

  it('clears the cookie with Cache-Control: no-store when signing out on a streamed response', async () => {
    const t = setup();
    t.app.post('/stream-signout', async (req, res) => {
      await sessionOf(req).signOut();
      res.write('bye, ');
      res.end('now');
    });
    const anon = await anonymousSession(t);
    const signedIn = theSetCookie(
      await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200),
      DEFAULT_NAME,
    );

    const res = await request(t.app).post('/stream-signout').set('Cookie', cookieHeader(signedIn)).expect(200);

    expect(isClearing(theSetCookie(res, DEFAULT_NAME))).toBe(true);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
    expect((await whoami(t, signedIn)).body).toEqual(NO_SESSION);
  });

  it('does not force Cache-Control: no-store on a read-only response that sets no cookie', async () => {
    const t = setup();
    t.app.get('/cached', (_req, res) => {
      res.set('Cache-Control', 'public, max-age=60').send('static');
    });
    const cookie = await anonymousSession(t);

    const read = await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200);
    const noSession = await request(t.app).get('/noop').expect(200);
    const cached = await request(t.app).get('/cached').set('Cookie', cookieHeader(cookie)).expect(200);

    for (const res of [read, noSession, cached]) expect(setCookieLines(res)).toEqual([]);
    expect(read.headers['cache-control']).toBeUndefined();
    expect(noSession.headers['cache-control']).toBeUndefined();
    expect(cached.headers['cache-control']).toBe('public, max-age=60');
  });
});

describe('what the store sees', () => {
  it('never receives the token or the cookie value, only the session id as the key and hashes of tokens', async () => {
    const t = setup();
    const anon = await anonymousSession(t);
    await whoami(t, anon);
    t.clock.advance(5 * MINUTE); // past the touch interval: the next read touches
    await whoami(t, anon);
    await request(t.app).post('/set/colour/blue').set('Cookie', cookieHeader(anon)).expect(200);
    const signIn = await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200);
    const signedIn = theSetCookie(signIn, DEFAULT_NAME);
    await request(t.app).post('/set/theme/dark').set('Cookie', cookieHeader(signedIn)).expect(200);
    await request(t.app).post('/signout').set('Cookie', cookieHeader(signedIn)).expect(200);

    expect(t.store.count('touch')).toBeGreaterThan(0);
    expect(t.store.count('set')).toBeGreaterThan(0);
    expect(t.store.count('delete')).toBeGreaterThan(0);
    const transcript = t.store.transcript();
    for (const cookie of [anon, signedIn]) {
      const { sid, token } = parseSignedValue(cookie.value);
      for (const entry of transcript) {
        expect(entry).not.toContain(token);
        expect(entry).not.toContain(cookie.value);
        expect(entry).not.toContain(decodeURIComponent(cookie.value));
      }
      expect(t.store.keys()).toContain(sid);
      // The record holds the hash of the token, which is all a store dump could show.
      expect(transcript.some((entry) => entry.includes(sha256Base64url(token)))).toBe(true);
    }
    const tokenKeys = new Set([anon, signedIn].map((c) => storeKeyOfValue(c.value)));
    for (const key of t.store.keys()) expect(tokenKeys.has(key)).toBe(true);
  });
});

describe('idle and absolute timeouts', () => {
  it('keeps a session alive just before the 30-minute idle deadline and ends it at the deadline', async () => {
    const t = setup();
    const cookie = await anonymousSession(t);

    t.clock.advance(30 * MINUTE - 1);
    expect((await whoami(t, cookie)).body).toEqual({ userId: null, data: { cart: 'apples' }, isNew: false });

    t.clock.advance(30 * MINUTE); // 30 minutes after that last request
    const expired = await whoami(t, cookie);
    expect(expired.body).toEqual(NO_SESSION);
    expect(isClearing(theSetCookie(expired.res, DEFAULT_NAME))).toBe(true);
    expect(await t.store.inner.get(storeKeyOfValue(cookie.value))).toBeNull();
  });

  it('ends an unused session exactly at the idle deadline', async () => {
    const t = setup();
    const cookie = await anonymousSession(t);

    t.clock.advance(30 * MINUTE);
    expect((await whoami(t, cookie)).body).toEqual(NO_SESSION);
  });

  it('applies a configured idle timeout', async () => {
    const t = setup({ idleTimeout: 5 * MINUTE });
    const first = await anonymousSession(t);
    const second = await anonymousSession(t);

    t.clock.advance(5 * MINUTE - 1);
    expect((await whoami(t, first)).body.isNew).toBe(false);
    t.clock.advance(1);
    expect((await whoami(t, second)).body).toEqual(NO_SESSION);
  });

  it('extends the idle deadline with activity (following the rotated cookie, as a browser does)', async () => {
    const t = setup();
    const jar = new CookieJar(DEFAULT_NAME, await anonymousSession(t));

    for (let i = 0; i < 4; i++) {
      t.clock.advance(25 * MINUTE);
      const { body, res } = await whoami(t, jar.header);
      jar.update(res);
      expect(body.data).toEqual({ cart: 'apples' });
    }
    // 100 minutes after creation, far past the first idle deadline, and still alive.
    expect(t.clock.now()).toBe(T0 + 100 * MINUTE);
  });

  it('ends an active session at the 12-hour absolute deadline and not 1 ms before', async () => {
    const t = setup();
    const jar = new CookieJar(DEFAULT_NAME, await anonymousSession(t));
    const visit = async () => {
      const { body, res } = await whoami(t, jar.header);
      jar.update(res);
      return body;
    };

    for (let elapsed = 20 * MINUTE; elapsed < 12 * HOUR; elapsed += 20 * MINUTE) {
      t.clock.set(T0 + elapsed);
      expect((await visit()).isNew).toBe(false);
    }
    t.clock.set(T0 + 12 * HOUR - 1);
    expect((await visit()).data).toEqual({ cart: 'apples' });

    t.clock.set(T0 + 12 * HOUR);
    expect(await visit()).toEqual(NO_SESSION);
  });

  it('applies a configured absolute timeout however active the session is', async () => {
    const t = setup({ absoluteTimeout: 2 * HOUR });
    const cookie = await anonymousSession(t);

    for (let elapsed = 10 * MINUTE; elapsed < 2 * HOUR; elapsed += 10 * MINUTE) {
      t.clock.set(T0 + elapsed);
      await request(t.app).post(`/set/visit/${elapsed}`).set('Cookie', cookieHeader(cookie)).expect(200);
    }
    t.clock.set(T0 + 2 * HOUR);
    expect((await whoami(t, cookie)).body).toEqual(NO_SESSION);
  });

  it('costs a read-only request one store read, and touches at most once per touch interval (default 1 min)', async () => {
    const t = setup();
    const cookie = await anonymousSession(t);
    t.store.reset();

    for (let s = 1; s < 60; s++) {
      t.clock.set(T0 + s * SECOND);
      const { res } = await whoami(t, cookie);
      expect(setCookieLines(res)).toEqual([]);
    }
    expect(t.store.count('get')).toBe(59);
    expect(t.store.writes()).toEqual([]);

    t.clock.set(T0 + 60 * SECOND);
    await whoami(t, cookie);
    expect(t.store.count('touch')).toBe(1);
    expect(t.store.count('set')).toBe(0);

    for (let s = 61; s < 120; s++) {
      t.clock.set(T0 + s * SECOND);
      await whoami(t, cookie);
    }
    expect(t.store.count('touch')).toBe(1);

    t.clock.set(T0 + 120 * SECOND);
    await whoami(t, cookie);
    expect(t.store.count('touch')).toBe(2);
    expect(t.store.count('set')).toBe(0);
  });

  it('spaces touches of read-only requests by at least a configured touch interval', async () => {
    const touchInterval = 5 * MINUTE;
    // Token rotation (a write every 15 min) is off here: this counts touches alone.
    const t = setup({ touchInterval, rotateEvery: Infinity });
    const cookie = await anonymousSession(t);
    t.store.reset();

    for (let elapsed = 7 * SECOND; elapsed <= 29 * MINUTE; elapsed += 7 * SECOND) {
      t.clock.set(T0 + elapsed);
      await whoami(t, cookie);
    }
    const touches = t.store.calls.flatMap((call) => (call.op === 'touch' ? [call.lastSeenAt] : []));
    expect(touches.length).toBeGreaterThanOrEqual(4);
    expect(touches.length).toBeLessThanOrEqual(Math.ceil((29 * MINUTE) / touchInterval));
    let previous = T0;
    for (const at of touches) {
      expect(at - previous).toBeGreaterThanOrEqual(touchInterval);
      previous = at;
    }
    expect(t.store.count('set')).toBe(0);
  });
});

describe('persistent cookies on a moving clock', () => {
  it('lets read-only requests write nothing, even when the clock moves during each request', async () => {
    // Real time passes while a request runs: every read of this clock is 1 ms later.
    const t = setup({ cookie: { maxAge: HOUR } }, tickingClock());
    const created = await request(t.app).post('/set/cart/apples').expect(200);
    const cookie = theSetCookie(created, DEFAULT_NAME);
    expect(cookie.attributes.get('max-age')).toBe('3600');
    t.store.reset();

    for (let i = 0; i < 5; i++) {
      const { res } = await whoami(t, cookie);
      expect(setCookieLines(res)).toEqual([]);
    }

    expect(t.store.writes()).toEqual([]);
    const record = await t.store.inner.get(storeKeyOfValue(cookie.value));
    expect(record?.version).toBe(1);
  });
});

describe('secret rotation', () => {
  async function rotated() {
    const clock = frozenClock();
    const store = new RecordingStore(new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }));
    const before = buildApp({ store, now: clock.now, secret: OTHER_SECRET });
    const after = buildApp({ store, now: clock.now, secret: [SECRET, OTHER_SECRET] });
    const oldCookie = await anonymousSession(before);
    const fresh = await anonymousSession(after);
    return { before, after, store, oldCookie, firstKeyId: parseSignedValue(fresh.value).keyId };
  }

  it('accepts a cookie signed by the second secret and re-signs it with the first', async () => {
    const { after, oldCookie, firstKeyId } = await rotated();
    expect(parseSignedValue(oldCookie.value).keyId).not.toBe(firstKeyId);

    const { body, res } = await whoami(after, oldCookie);
    expect(body).toEqual({ userId: null, data: { cart: 'apples' }, isNew: false });
    const resigned = theSetCookie(res, DEFAULT_NAME);
    expect(resigned.value).not.toBe(oldCookie.value);
    expect(parseSignedValue(resigned.value).keyId).toBe(firstKeyId);
    expect(parseSignedValue(resigned.value).token).toBe(parseSignedValue(oldCookie.value).token);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('maps the re-signed cookie and the old-key cookie to the same session', async () => {
    const { after, oldCookie } = await rotated();
    const resigned = theSetCookie((await whoami(after, oldCookie)).res, DEFAULT_NAME);

    await request(after.app).post('/set/colour/blue').set('Cookie', cookieHeader(resigned)).expect(200);

    expect((await whoami(after, oldCookie)).body.data).toEqual({ cart: 'apples', colour: 'blue' });
    expect((await whoami(after, resigned)).body.data).toEqual({ cart: 'apples', colour: 'blue' });
  });

  it('rejects old-key cookies once the old secret is retired, but not re-signed ones', async () => {
    const { after, store, oldCookie } = await rotated();
    const resigned = theSetCookie((await whoami(after, oldCookie)).res, DEFAULT_NAME);
    const retired = buildApp({ store, now: () => T0, secret: SECRET });

    expect((await whoami(retired, oldCookie)).body).toEqual(NO_SESSION);
    expect((await whoami(retired, resigned)).body.data).toEqual({ cart: 'apples' });
  });
});

describe('events', () => {
  it('never carry the token or the cookie value', async () => {
    const t = setup({ secret: [SECRET, OTHER_SECRET] });
    const oldKeyApp = buildApp({ store: t.store, now: t.clock.now, secret: OTHER_SECRET });
    const sent: string[] = [];
    const remember = (cookie: SetCookie): SetCookie => {
      sent.push(cookie.value);
      return cookie;
    };

    const anon = remember(await anonymousSession(t));
    await whoami(t, anon);
    const signedIn = remember(
      theSetCookie(await request(t.app).post('/signin/alice').set('Cookie', cookieHeader(anon)).expect(200), DEFAULT_NAME),
    );
    await whoami(t, anon); // stale token: invalid_token
    const { token, keyId, signature } = parseSignedValue(signedIn.value);
    const tampered = `v1.${token}.${keyId}.${signature.slice(0, -2)}AA`;
    const unknownKey = `v1.${token}.zzzzzz.${signature}`;
    await whoami(t, `${DEFAULT_NAME}=${tampered}`);
    await whoami(t, `${DEFAULT_NAME}=${unknownKey}`);
    await whoami(t, `${DEFAULT_NAME}=${signedIn.value}; ${DEFAULT_NAME}=${signedIn.value}`);
    await whoami(t, `${DEFAULT_NAME}=v1.${token}`);
    const oldKey = remember(await anonymousSession(oldKeyApp));
    remember(theSetCookie((await whoami(t, oldKey)).res, DEFAULT_NAME)); // re-signed
    await request(t.app).post('/signout').set('Cookie', cookieHeader(signedIn)).expect(200);
    await whoami(t, signedIn); // after sign-out
    const idle = remember(await anonymousSession(t));
    t.clock.advance(31 * MINUTE);
    await whoami(t, idle);

    const events: SessionEvent[] = [...t.events, ...oldKeyApp.events];
    const types = new Set(events.map((event) => event.type));
    for (const type of ['created', 'authenticated', 'regenerated', 'destroyed', 'invalid_token'] as const) {
      expect(types).toContain(type);
    }
    const secrets = [...sent, tampered, unknownKey, ...sent.flatMap((value) => [parseSignedValue(value).token, parseSignedValue(value).sid])];
    for (const event of events) {
      const json = JSON.stringify(event);
      for (const secret of secrets) expect(json).not.toContain(secret);
      if (event.sessionRef !== null) expect(event.sessionRef).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });
});
