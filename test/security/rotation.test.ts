/**
 * Acknowledged token rotation over real HTTP, on a frozen clock: a rotation hands out a new
 * token and completes only when the client shows it; until then the old token keeps working and
 * gets the same new token again; once the new one has been seen, the old one works for the grace
 * window and is a replay after it, as is any older token, however many rotations old.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { MINUTE, SECOND, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { CookieJar, cookieHeader, parseSignedValue, setCookiesNamed, storeKeyOfValue, theSetCookie, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, SECRET, buildApp, type AppOptions, type TestApp, type WhoAmI } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

interface Setup extends TestApp {
  clock: TestClock;
  store: RecordingStore;
}

function setup(open: (now: () => number) => Store, options: AppOptions = {}): Setup {
  const clock = frozenClock();
  const store = new RecordingStore(open(clock.now));
  return { clock, store, ...buildApp({ store, now: clock.now, ...options }) };
}

async function signedIn(t: Setup): Promise<SetCookie> {
  const res = await request(t.app).post('/signin/alice').expect(200);
  return theSetCookie(res, DEFAULT_NAME);
}

async function whoami(t: Pick<Setup, 'app'>, cookie: SetCookie | string) {
  const res = await request(t.app)
    .get('/whoami')
    .set('Cookie', typeof cookie === 'string' ? cookie : cookieHeader(cookie))
    .expect(200);
  return { body: res.body as WhoAmI, res, handedOut: setCookiesNamed(res, DEFAULT_NAME)[0] };
}

const tokenOf = (cookie: SetCookie): string => parseSignedValue(cookie.value).token;
const types = (t: Setup): string[] => t.events.map((event) => event.type);

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

describe.each(stores)('acknowledged token rotation on %s', (_name, open) => {
  it('hands out a new token after rotateEvery (15 min) and keeps id, user and data', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE - 1);
    expect((await whoami(t, first)).handedOut).toBeUndefined();

    t.clock.set(T0 + 15 * MINUTE);
    const { body, res, handedOut } = await whoami(t, first);
    expect(body.userId).toBe('alice');
    expect(handedOut).toBeDefined();
    expect(tokenOf(handedOut!)).not.toBe(tokenOf(first));
    // The session keeps its id (and store key) through rotations; only the token changes.
    expect(storeKeyOfValue(handedOut!.value)).toBe(storeKeyOfValue(first.value));
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await whoami(t, handedOut!)).body.userId).toBe('alice');
    expect(types(t)).toContain('rotated');
  });

  it('keeps the old token working while the client has not shown the new one, handing out the same new token, with no write per request', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const offered = (await whoami(t, first)).handedOut!;
    t.store.reset();

    // The response carrying the new token never arrived: the client goes on with the old one,
    // well past the grace window.
    for (const later of [1, 5, 10]) {
      t.clock.set(T0 + 15 * MINUTE + later * MINUTE);
      const { body, handedOut } = await whoami(t, first);
      expect(body.userId).toBe('alice');
      expect(handedOut?.value).toBe(offered.value);
    }
    expect(t.store.count('set')).toBe(0);
    expect(types(t)).not.toContain('reuse_detected');
    expect(types(t)).not.toContain('rotated');
  });

  it('gives every parallel request at the rotation moment the same new token', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);

    const responses = await Promise.all(Array.from({ length: 8 }, () => whoami(t, first)));
    const offered = new Set(responses.map((r) => r.handedOut?.value));
    expect(offered.size).toBe(1);
    expect([...offered][0]).toBeDefined();
    for (const r of responses) expect(r.body.userId).toBe('alice');
  });

  it('honours the old token within the 30 s grace window after the new one was seen, without handing out a cookie', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = (await whoami(t, first)).handedOut!;
    await whoami(t, second); // acknowledged

    t.clock.set(T0 + 15 * MINUTE + 30 * SECOND);
    const late = await whoami(t, first);
    expect(late.body.userId).toBe('alice');
    expect(late.res.headers['set-cookie']).toBeUndefined();
  });

  it('lets a request in flight with the old token write into the session', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = (await whoami(t, first)).handedOut!;
    await whoami(t, second);

    t.clock.set(T0 + 15 * MINUTE + 5 * SECOND);
    await request(t.app).post('/set/cart/apples').set('Cookie', cookieHeader(first)).expect(200);
    expect((await whoami(t, second)).body.data).toEqual({ cart: 'apples' });
  });

  it('treats the old token after the grace window (+ the 2 min skew allowance) as a replay: revokes and emits reuse_detected', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = (await whoami(t, first)).handedOut!;
    await whoami(t, second);

    t.clock.set(T0 + 15 * MINUTE + 30 * SECOND + 2 * MINUTE);
    const replay = await whoami(t, first);
    expect(replay.body).toEqual({ userId: null, data: {}, isNew: true });
    expect(types(t).filter((type) => type === 'reuse_detected')).toHaveLength(1);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'token_reuse' }));
    // The holder of the new token is signed out too: one of the two was a thief.
    expect((await whoami(t, second)).body.userId).toBeNull();
    expect(await t.store.inner.get(storeKeyOfValue(second.value))).toBeNull();
  });

  it('detects a real theft: the thief uses the old token after the victim moved on to the new one', async () => {
    const t = setup(open);
    const stolen = await signedIn(t); // the thief copies the cookie now
    const victim = new CookieJar(DEFAULT_NAME, stolen);
    for (const minute of [15, 16]) {
      t.clock.set(T0 + minute * MINUTE);
      victim.update((await whoami(t, victim.header)).res);
    }
    expect(victim.header).not.toBe(cookieHeader(stolen));

    t.clock.set(T0 + 40 * MINUTE);
    expect((await whoami(t, stolen)).body.userId).toBeNull();
    expect(types(t)).toContain('reuse_detected');
    expect((await whoami(t, victim.header)).body.userId).toBeNull();
  });

  it('detects a token ten rotations old, with one store read', async () => {
    const t = setup(open);
    const original = await signedIn(t);
    const jar = new CookieJar(DEFAULT_NAME, original);
    let minute = 0;
    let rotations = 0;
    while (rotations < 10) {
      minute += 16;
      t.clock.set(T0 + minute * MINUTE);
      const offered = await whoami(t, jar.header);
      jar.update(offered.res);
      minute += 1;
      t.clock.set(T0 + minute * MINUTE);
      await whoami(t, jar.header); // shows the new token: the rotation completes
      rotations++;
      if (minute > 11 * 60) break;
    }
    expect(t.events.filter((e) => e.type === 'rotated')).toHaveLength(10);
    t.store.reset();

    const replay = await whoami(t, original);
    expect(replay.body.userId).toBeNull();
    expect(t.store.count('get')).toBe(1);
    expect(types(t)).toContain('reuse_detected');
    expect((await whoami(t, jar.header)).body.userId).toBeNull();
  });

  it("only reports a replay with onTokenReuse: 'report'", async () => {
    const t = setup(open, { onTokenReuse: 'report' });
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = (await whoami(t, first)).handedOut!;
    await whoami(t, second);

    t.clock.set(T0 + 20 * MINUTE);
    expect((await whoami(t, first)).body.userId).toBeNull();
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'reuse_detected', action: 'report' }));
    expect((await whoami(t, second)).body.userId).toBe('alice');
  });

  it('keeps rotating a browser that follows its cookie, with one session in the user index', async () => {
    const t = setup(open);
    const jar = new CookieJar(DEFAULT_NAME, await signedIn(t));
    for (let minute = 10; minute <= 60; minute += 5) {
      t.clock.set(T0 + minute * MINUTE);
      const res = await request(t.app).get('/whoami').set('Cookie', jar.header).expect(200);
      jar.update(res);
      expect((res.body as WhoAmI).userId).toBe('alice');
    }
    expect(t.events.filter((e) => e.type === 'rotated').length).toBeGreaterThanOrEqual(3);
    expect(await t.store.inner.listByUser('alice')).toHaveLength(1);
  });

  it('tolerates hosts whose clocks differ by 60 s: a request in flight on the host ahead is not a replay', async () => {
    const clockA = frozenClock();
    const clockB = frozenClock(T0 + 60 * SECOND);
    const store = open(clockA.now);
    const hostA = buildApp({ store, now: clockA.now });
    const hostB = buildApp({ store, now: clockB.now });
    const first = theSetCookie(await request(hostA.app).post('/signin/alice').expect(200), DEFAULT_NAME);
    clockA.set(T0 + 15 * MINUTE);
    clockB.set(T0 + 15 * MINUTE + 60 * SECOND);
    const second = (await whoami(hostA, first)).handedOut!;
    await whoami(hostA, second); // the rotation completes on A's clock

    clockB.set(T0 + 15 * MINUTE + 60 * SECOND + 20 * SECOND); // 20 s later for real, B says 80 s
    expect((await whoami(hostB, first)).body.userId).toBe('alice');
    expect(hostB.events.map((e) => e.type)).not.toContain('reuse_detected');
    expect((await whoami(hostB, second)).body.userId).toBe('alice');
  });

  it("applies the anomaly policy 'revoke' to a request in the grace window too", async () => {
    const t = setup(open, { anomaly: { policy: 'revoke' } });
    const res = await request(t.app).post('/signin/alice').set('User-Agent', 'Browser/1').expect(200);
    const first = theSetCookie(res, DEFAULT_NAME);
    t.clock.set(T0 + 15 * MINUTE);
    const offered = await request(t.app).get('/whoami').set('Cookie', cookieHeader(first)).set('User-Agent', 'Browser/1');
    const second = theSetCookie(offered, DEFAULT_NAME);
    await request(t.app).get('/whoami').set('Cookie', cookieHeader(second)).set('User-Agent', 'Browser/1');

    const grace = await request(t.app).get('/whoami').set('Cookie', cookieHeader(first)).set('User-Agent', 'Thief/9').expect(200);
    expect((grace.body as WhoAmI).userId).toBeNull();
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'anomaly' }));
  });

  it('can be turned off with rotateEvery: Infinity', async () => {
    const t = setup(open, { rotateEvery: Infinity });
    const first = await signedIn(t);
    t.clock.set(T0 + 29 * MINUTE);
    expect((await whoami(t, first)).handedOut).toBeUndefined();
    expect(types(t)).not.toContain('rotated');
  });
});

describe('rotation options', () => {
  it.each([
    ['a zero grace window', { rotationGrace: 0 }],
    ['a grace window under a second', { rotationGrace: 999 }],
    ['a rotation interval not longer than grace + skew', { rotateEvery: 2 * MINUTE, rotationGrace: 30 * SECOND }],
  ])('refuses %s at construction', (_label, options) => {
    let error: unknown;
    try {
      createSessions({ secret: SECRET, store: new MemoryStore(), ...options });
    } catch (caught) {
      error = caught;
    }
    expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
  });
});
