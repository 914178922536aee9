import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { MINUTE, SECOND, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { CookieJar, cookieHeader, parseSignedValue, sha256Base64url, theSetCookie, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, barrier, buildApp, type AppOptions, type TestApp, type WhoAmI } from '../helpers/express-app.js';

interface Setup extends TestApp {
  clock: TestClock;
  store: Store;
}

function setup(open: (now: () => number) => Store, options: AppOptions = {}): Setup {
  const clock = frozenClock();
  const store = open(clock.now);
  return { clock, store, ...buildApp({ store, now: clock.now, ...options }) };
}

async function signedIn(t: Setup): Promise<SetCookie> {
  const res = await request(t.app).post('/signin/alice').expect(200);
  return theSetCookie(res, DEFAULT_NAME);
}

async function whoami(t: Setup, cookie: SetCookie | string) {
  const res = await request(t.app)
    .get('/whoami')
    .set('Cookie', typeof cookie === 'string' ? cookie : cookieHeader(cookie))
    .expect(200);
  return { body: res.body as WhoAmI, res };
}

const keyOf = (cookie: SetCookie) => sha256Base64url(parseSignedValue(cookie.value).token);

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

describe.each(stores)('token rotation on %s', (_name, open) => {
  it('replaces the token after rotateEvery (default 15 min) and keeps user and data', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE - 1);
    expect(theSetCookieOrNone((await whoami(t, first)).res)).toBeUndefined();

    t.clock.set(T0 + 15 * MINUTE);
    const { body, res } = await whoami(t, first);
    const second = theSetCookie(res, DEFAULT_NAME);
    expect(body.userId).toBe('alice');
    expect(parseSignedValue(second.value).token).not.toBe(parseSignedValue(first.value).token);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(t.events.some((e) => e.type === 'rotated')).toBe(true);
    expect((await whoami(t, second)).body.userId).toBe('alice');
  });

  it('still honours the old token within the 30 s grace window, without handing out a cookie', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    theSetCookie((await whoami(t, first)).res, DEFAULT_NAME);

    t.clock.set(T0 + 15 * MINUTE + 30 * SECOND - 1);
    const late = await whoami(t, first);
    expect(late.body.userId).toBe('alice');
    expect(late.res.headers['set-cookie']).toBeUndefined();
  });

  it('lets a request in flight with the old token write into the rotated session', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = theSetCookie((await whoami(t, first)).res, DEFAULT_NAME);

    t.clock.set(T0 + 15 * MINUTE + 5 * SECOND);
    await request(t.app).post('/set/cart/apples').set('Cookie', cookieHeader(first)).expect(200);
    expect((await whoami(t, second)).body.data).toEqual({ cart: 'apples' });
  });

  it('loses no write when parallel requests loaded before the rotation write after it', async () => {
    const arrive = barrier(5);
    const t = setup(open, { beforeSet: arrive });
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);

    const responses = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => request(t.app).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookieHeader(first)).expect(200)),
    );
    const rotated = responses.flatMap((res) => (res.headers['set-cookie'] as string[] | undefined) ?? []);
    expect(rotated).toHaveLength(1);
    const second = theSetCookie(responses.find((res) => res.headers['set-cookie'])!, DEFAULT_NAME);
    const { body } = await whoami(t, second);
    expect(body.userId).toBe('alice');
    expect(body.data).toEqual({ k1: 'v1', k2: 'v2', k3: 'v3', k4: 'v4', k5: 'v5' });
  });

  it('treats the old token after the grace window as a replay: revokes the session and emits reuse_detected', async () => {
    const t = setup(open);
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = theSetCookie((await whoami(t, first)).res, DEFAULT_NAME);

    t.clock.set(T0 + 15 * MINUTE + 30 * SECOND);
    const replay = await whoami(t, first);
    expect(replay.body).toEqual({ userId: null, data: {}, isNew: true });
    expect(t.events.map((e) => e.type)).toContain('reuse_detected');
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'token_reuse' }));
    // The legitimate holder of the new token is signed out too: one of the two was a thief.
    expect((await whoami(t, second)).body.userId).toBeNull();
    expect(await t.store.get(keyOf(second))).toBeNull();
  });

  it("only reports a replay with onTokenReuse: 'report'", async () => {
    const t = setup(open, { onTokenReuse: 'report' });
    const first = await signedIn(t);
    t.clock.set(T0 + 15 * MINUTE);
    const second = theSetCookie((await whoami(t, first)).res, DEFAULT_NAME);

    t.clock.set(T0 + 20 * MINUTE);
    expect((await whoami(t, first)).body.userId).toBeNull();
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'reuse_detected', action: 'report' }));
    expect((await whoami(t, second)).body.userId).toBe('alice');
  });

  it('keeps rotating a browser that follows its cookie, and never lists rotated-away keys as sessions', async () => {
    const t = setup(open);
    const jar = new CookieJar(DEFAULT_NAME, await signedIn(t));
    for (let minute = 10; minute <= 60; minute += 10) {
      t.clock.set(T0 + minute * MINUTE);
      const res = await request(t.app).get('/whoami').set('Cookie', jar.header).expect(200);
      jar.update(res);
      expect((res.body as WhoAmI).userId).toBe('alice');
    }
    expect(t.events.filter((e) => e.type === 'rotated').length).toBeGreaterThanOrEqual(3);
    const live = (await t.store.listByUser('alice')).filter((entry) => entry.record.movedTo === undefined);
    expect(live).toHaveLength(1);
  });

  it('can be turned off with rotateEvery: Infinity', async () => {
    const t = setup(open, { rotateEvery: Infinity });
    const first = await signedIn(t);
    t.clock.set(T0 + 29 * MINUTE);
    expect(theSetCookieOrNone((await whoami(t, first)).res)).toBeUndefined();
    expect(t.events.some((e) => e.type === 'rotated')).toBe(false);
  });
});

function theSetCookieOrNone(res: request.Response): string | undefined {
  const header = res.headers['set-cookie'] as string[] | undefined;
  return header?.find((line) => line.startsWith(`${DEFAULT_NAME}=`));
}
