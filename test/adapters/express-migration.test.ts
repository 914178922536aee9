/**
 * Moving an app from express-session to `tessera/express` without logging anyone out: a real
 * express-session app (the dev dependency, 1.19) signs users in against a store; then the same
 * store and secret run under tessera. Users keep their data, get a tessera cookie on that first
 * request, the old entry leaves the store, and the old `s:` cookie stops working.
 */
import { createHash, createHmac } from 'node:crypto';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import request from 'supertest';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionShape, StoredSession } from '../../src/store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../src/store/memory.js';
import {
  SECRET,
  TESSERA_VALUE,
  cookieOf,
  countCalls,
  createApp,
  fakeClock,
  isClearing,
  sess,
  sessionCookie,
  sessionId,
  setCookies,
  tokenOf,
} from './express-helpers.js';

const OLD_SECRET = 'keyboard cat';
/** tessera's default rotationGrace and maxClockSkew, in ms: how long an old cookie opens the session it moved to. */
const ROTATION_GRACE_MS = 30_000;
const MAX_CLOCK_SKEW_MS = 120_000;

/** The stores an express-session app has: typed with @types/express-session, given to tessera as they are. */
type AnyStore = expressSession.Store;

/**
 * A custom callback store, written for express-session as its README shows: a class extending
 * express-session's Store, JSON strings in a Map. It keeps entries until deleted (no TTL).
 */
class CallbackStore extends expressSession.Store {
  readonly data = new Map<string, string>();
  override get(sid: string, cb: (err: unknown, session?: expressSession.SessionData | null) => void): void {
    const text = this.data.get(sid);
    setImmediate(() => cb(null, text === undefined ? null : (JSON.parse(text) as expressSession.SessionData)));
  }
  override set(sid: string, value: expressSession.SessionData, cb?: (err?: unknown) => void): void {
    this.data.set(sid, JSON.stringify(value));
    setImmediate(() => cb?.(null));
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.data.delete(sid);
    setImmediate(() => cb?.(null));
  }
}

/** A store that calls back and also returns promises (as connect-redis 7 and others do). */
class PromiseStore extends expressSession.Store {
  readonly data = new Map<string, string>();
  override get(sid: string, cb?: (err: unknown, session?: expressSession.SessionData | null) => void): Promise<unknown> {
    const text = this.data.get(sid);
    const value = text === undefined ? null : (JSON.parse(text) as expressSession.SessionData);
    cb?.(null, value);
    return Promise.resolve(value);
  }
  override set(sid: string, value: expressSession.SessionData, cb?: (err?: unknown) => void): Promise<unknown> {
    this.data.set(sid, JSON.stringify(value));
    cb?.(null);
    return Promise.resolve();
  }
  override destroy(sid: string, cb?: (err?: unknown) => void): Promise<unknown> {
    this.data.delete(sid);
    cb?.(null);
    return Promise.resolve();
  }
}

const stores: Array<[string, () => AnyStore]> = [
  ["express-session's own MemoryStore", () => new expressSession.MemoryStore()],
  ['a custom callback store', () => new CallbackStore()],
  ['a store that calls back and returns promises', () => new PromiseStore()],
];

/** The app as it ran on express-session: sign-in stores a user and a cart. */
function legacyApp(store: AnyStore, secret: string | string[] = OLD_SECRET, cookie?: expressSession.CookieOptions): Express {
  const app = express();
  app.use(
    expressSession({
      secret,
      store,
      resave: false,
      saveUninitialized: false,
      ...(cookie !== undefined && { cookie }),
    }),
  );
  app.post('/login/:user', (req, res) => {
    const s = req.session as unknown as Record<string, unknown>;
    s['passport'] = { user: req.params.user };
    s['cart'] = ['apple', 'pear'];
    res.send(req.sessionID);
  });
  return app;
}

/** The same app on tessera/express, with the same store. */
function tesseraApp(store: AnyStore, options: Partial<ExpressSessionOptions> = {}) {
  return createApp({ store, secret: [SECRET, OLD_SECRET], ...options }, async (req, res) => {
    const s = sess(req);
    if (req.path === '/logout') {
      await s.destroy();
      res.send('bye');
      return;
    }
    if (req.path === '/relogin') {
      const passport = s['passport'];
      await s.regenerate();
      sess(req)['passport'] = passport;
    }
    if (req.path === '/add') (s['cart'] as string[]).push('plum');
    const passport = sess(req)['passport'] as { user: string } | undefined;
    res.json({
      user: passport?.user ?? null,
      cart: sess(req)['cart'] ?? null,
      keys: Object.keys(sess(req)).sort(),
      id: sessionId(req),
    });
  });
}

/** Sign in on express-session; returns its cookie header and the raw session id. */
async function signInOnExpressSession(app: Express, user = 'alice'): Promise<{ cookie: string; sid: string }> {
  const res = await request(app).post(`/login/${user}`).expect(200);
  const cookie = cookieOf(res);
  const value = decodeURIComponent(cookie.slice('connect.sid='.length));
  expect(value.startsWith('s:')).toBe(true);
  const sid = value.slice(2, value.lastIndexOf('.'));
  expect(sid).toBe(res.text);
  return { cookie, sid };
}

function storeGet(store: AnyStore, sid: string): Promise<StoredSession | null> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (error?: unknown, value?: SessionShape | null) => {
      if (settled) return;
      settled = true;
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve((value ?? null) as StoredSession | null);
    };
    const result = store.get(sid, done) as Promise<StoredSession | null> | undefined;
    if (result && typeof result.then === 'function') result.then((v) => done(null, v), done);
  });
}

const SIGNED_IN = { user: 'alice', cart: ['apple', 'pear'], keys: ['cart', 'cookie', 'passport'] };

describe.each(stores)('migrating from express-session on %s', (_name, makeStore) => {
  it('keeps the user signed in, sets a tessera cookie, removes the old entry, and retires the old cookie', async () => {
    const store = makeStore();
    const old = await signInOnExpressSession(legacyApp(store));
    expect(await storeGet(store, old.sid)).toMatchObject({ passport: { user: 'alice' }, cart: ['apple', 'pear'] });

    const clock = fakeClock();
    const { app } = tesseraApp(store, { now: clock.now });
    const first = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(first.body).toMatchObject(SIGNED_IN);
    const upgraded = sessionCookie(first);
    expect(upgraded?.value).toMatch(TESSERA_VALUE);
    expect(first.get('Cache-Control')).toBe('no-store');

    // The old entry is gone; the session now lives under its tessera key, without the old cookie.
    expect(await storeGet(store, old.sid)).toBeNull();
    const moved = await storeGet(store, (first.body as { id: string }).id);
    expect(moved?.['tessera']).toMatchObject({ data: { passport: { user: 'alice' }, cart: ['apple', 'pear'] } });
    expect((moved?.['tessera'] as { data: Record<string, unknown> }).data).not.toHaveProperty('cookie');

    // The new cookie carries on.
    await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200).expect((res) => {
      expect(res.body).toMatchObject(SIGNED_IN);
    });
    // Within the rotation grace (30 s + maxClockSkew) of the move, the old cookie still opens
    // the moved session, for a request that was in flight, and gets the new cookie.
    clock.advance(ROTATION_GRACE_MS + MAX_CLOCK_SKEW_MS - 1000);
    const inFlight = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(inFlight.body).toMatchObject({ ...SIGNED_IN, id: (first.body as { id: string }).id });
    expect(sessionCookie(inFlight)?.value).toBe(upgraded!.value);
    // After it, the old cookie no longer signs anyone in, and is cleared.
    clock.advance(2000);
    const replay = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(replay.body).toMatchObject({ user: null, cart: null });
    expect(isClearing(sessionCookie(replay))).toBe(true);
  });

  it('keeps changes made on the migrating request', async () => {
    const store = makeStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store);
    const first = await request(app).post('/add').set('Cookie', old.cookie).expect(200);
    expect(first.body).toMatchObject({ cart: ['apple', 'pear', 'plum'] });
    await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200).expect((res) => {
      expect(res.body).toMatchObject({ user: 'alice', cart: ['apple', 'pear', 'plum'] });
    });
  });

  it('migrates each user to a separate tessera session', async () => {
    const store = makeStore();
    const legacy = legacyApp(store);
    const alice = await signInOnExpressSession(legacy, 'alice');
    const bob = await signInOnExpressSession(legacy, 'bob');
    const { app } = tesseraApp(store);
    const a = await request(app).get('/me').set('Cookie', alice.cookie).expect(200);
    const b = await request(app).get('/me').set('Cookie', bob.cookie).expect(200);
    expect((a.body as { user: string }).user).toBe('alice');
    expect((b.body as { user: string }).user).toBe('bob');
    expect(tokenOf(sessionCookie(a)!.value)).not.toBe(tokenOf(sessionCookie(b)!.value));
  });
});

describe('migration with secrets', () => {
  it('needs the old secret in the ring: without it the old cookie is refused before any store read', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const gets = countCalls(store, 'get');
    const { app } = tesseraApp(store, { secret: SECRET });
    const res = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(res.body).toMatchObject({ user: null });
    expect(gets.count).toBe(0);
    expect(isClearing(sessionCookie(res))).toBe(true);
    // The entry is left alone (a later deployment with the old secret can still migrate it).
    expect(await storeGet(store, old.sid)).not.toBeNull();
  });

  it('refuses an express-session cookie whose signature was altered, without reading the store', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const gets = countCalls(store, 'get');
    const { app } = tesseraApp(store);
    const value = decodeURIComponent(old.cookie.slice('connect.sid='.length));
    const forged = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BB' : 'AA'}`;
    const res = await request(app).get('/me').set('Cookie', `connect.sid=${encodeURIComponent(forged)}`).expect(200);
    expect(res.body).toMatchObject({ user: null });
    expect(gets.count).toBe(0);
    // An unsigned sid is refused the same way.
    await request(app).get('/me').set('Cookie', `connect.sid=${old.sid}`).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: null });
    });
    expect(gets.count).toBe(0);
    expect(await storeGet(store, old.sid)).not.toBeNull();
  });

  it('accepts cookies signed by any old secret of an express-session array', async () => {
    const store = new expressSession.MemoryStore();
    // Before: 'old cat' signed. Then express-session rotated to ['keyboard cat', 'old cat'].
    const before = await signInOnExpressSession(legacyApp(store, 'old cat'), 'alice');
    const after = await signInOnExpressSession(legacyApp(store, [OLD_SECRET, 'old cat']), 'bob');
    const { app } = tesseraApp(store, { secret: [SECRET, OLD_SECRET, 'old cat'] });
    await request(app).get('/me').set('Cookie', before.cookie).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: 'alice' });
    });
    await request(app).get('/me').set('Cookie', after.cookie).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: 'bob' });
    });
  });

  it('allows a short old secret in production only after a strong first one', () => {
    vi.stubEnv('NODE_ENV', 'production');
    try {
      expect(() => session({ secret: OLD_SECRET, cookie: { secure: true } })).toThrow(/fewer than the 32/);
      expect(() => session({ secret: [OLD_SECRET, SECRET], cookie: { secure: true } })).toThrow(/fewer than the 32/);
      expect(() => session({ secret: [SECRET, OLD_SECRET], cookie: { secure: true } })).not.toThrow();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('in production, never lets the short old secret sign or verify a tessera token', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    onTestFinished(() => void vi.unstubAllEnvs());
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store, { cookie: { secure: false }, allowInsecureCookie: true });
    const first = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    const value = sessionCookie(first)!.value;
    const [sid, token, strongId] = decodeURIComponent(value).slice(2).split('.') as [string, string, string, string];
    // Every cookie tessera writes is signed by the strong first key.
    expect(strongId).toBe(keyIdOf(SECRET));

    // A token signed with the short secret, under its own key id or the strong key's id, is refused.
    for (const keyId of [keyIdOf(OLD_SECRET), strongId]) {
      const payload = `${sid}.${token}.${keyId}`;
      const forged = encodeURIComponent(`s:${payload}.${createHmac('sha256', OLD_SECRET).update(payload).digest('base64').replace(/=+$/, '')}`);
      const res = await request(app).get('/me').set('Cookie', `connect.sid=${forged}`).expect(200);
      expect(res.body).toMatchObject({ user: null });
    }
    // The genuine cookie still works.
    await request(app).get('/me').set('Cookie', `connect.sid=${value}`).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: 'alice' });
    });
  });
});

/** The key id tessera derives for a secret given without one (see src/core/keyring.ts). */
function keyIdOf(secret: string): string {
  return createHash('sha256').update('tessera/key-id').update(secret).digest('base64url').slice(0, 6);
}

describe('migration to a native tessera store (migrateFrom)', () => {
  it('moves the session into the new store and deletes it from the old one', async () => {
    const oldStore = new expressSession.MemoryStore();
    const newStore = new TesseraMemoryStore();
    const old = await signInOnExpressSession(legacyApp(oldStore));
    const clock = fakeClock();
    const { app } = createApp({ secret: [SECRET, OLD_SECRET], store: newStore, migrateFrom: oldStore, now: clock.now }, (req, res) => {
      res.json({ user: (sess(req)['passport'] as { user: string } | undefined)?.user ?? null, id: sessionId(req) });
    });
    const first = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(first.body).toMatchObject({ user: 'alice' });
    expect(sessionCookie(first)?.value).toMatch(TESSERA_VALUE);
    expect(await storeGet(oldStore, old.sid)).toBeNull();
    expect(await newStore.get((first.body as { id: string }).id)).toMatchObject({ data: { passport: { user: 'alice' } } });
    await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: 'alice' });
    });
    // The old cookie: the moved session within the rotation grace of the move, nothing after.
    await request(app).get('/me').set('Cookie', old.cookie).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: 'alice', id: (first.body as { id: string }).id });
    });
    clock.advance(ROTATION_GRACE_MS + MAX_CLOCK_SKEW_MS + 1000);
    await request(app).get('/me').set('Cookie', old.cookie).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: null });
    });
  });
});

describe('edge cases of migration', () => {
  it('does not revive an express-session session whose cookie expired, even if the store kept it', async () => {
    const store = new CallbackStore();
    const old = await signInOnExpressSession(legacyApp(store, OLD_SECRET, { maxAge: 1000 }));
    const entry = (await storeGet(store, old.sid))!;
    // What a store without a TTL of its own still holds after the cookie expired.
    store.data.set(old.sid, JSON.stringify({ ...entry, cookie: { ...entry.cookie, expires: new Date(Date.now() - 1).toISOString() } }));
    const { app } = tesseraApp(store);
    const res = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(res.body).toMatchObject({ user: null });
    expect(setCookies(res).every((c) => c.value === '')).toBe(true);
  });

  it('keeps a persistent express-session cookie persistent under the tessera cookie settings', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store, OLD_SECRET, { maxAge: 3_600_000 }));
    const { app } = tesseraApp(store, { cookie: { maxAge: 3_600_000 } });
    const res = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(sessionCookie(res)?.attributes['max-age']).toBe('3600');
  });

  it('regenerate() on a migrated session moves it to a new token; the old cookie stays dead', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store);
    const first = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    const relogin = await request(app).post('/relogin').set('Cookie', cookieOf(first)).expect(200);
    expect(relogin.body).toMatchObject({ user: 'alice' });
    await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: null });
    });
    await request(app).get('/me').set('Cookie', old.cookie).expect(200).expect((r) => {
      expect(r.body).toMatchObject({ user: null });
    });
  });

  it('destroy() after migration signs the user out for good', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store);
    const first = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    await request(app).post('/logout').set('Cookie', cookieOf(first)).expect(200, 'bye');
    for (const cookie of [cookieOf(first), old.cookie]) {
      await request(app).get('/me').set('Cookie', cookie).expect(200).expect((r) => {
        expect(r.body).toMatchObject({ user: null });
      });
    }
  });

  it('destroy() on the migrating request itself also retires the old cookie', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store);
    await request(app).post('/logout').set('Cookie', old.cookie).expect(200, 'bye');
    const replay = await request(app).get('/me').set('Cookie', old.cookie).expect(200);
    expect(replay.body).toMatchObject({ user: null });
  });

  it('regenerate() on the migrating request itself also retires the old cookie', async () => {
    const store = new expressSession.MemoryStore();
    const old = await signInOnExpressSession(legacyApp(store));
    const { app } = tesseraApp(store);
    const relogin = await request(app).post('/relogin').set('Cookie', old.cookie).expect(200);
    expect(relogin.body).toMatchObject({ user: 'alice' });
    expect(await storeGet(store, old.sid)).toBeNull();
  });
});
