/**
 * A session that times out is reported as `expired` with the clock that ran out (idle or
 * absolute), not as an unknown token: stores keep a record for a short grace past its deadline
 * so the engine, not the store, sees the expiry.
 */
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { HOUR, MINUTE, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { CookieJar, cookieHeader, storeKeyOfValue, theSetCookie, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, type TestApp, type WhoAmI } from '../helpers/express-app.js';

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

async function start(open: (now: () => number) => Store): Promise<{ t: TestApp; clock: TestClock; cookie: SetCookie; store: Store }> {
  const clock = frozenClock();
  const store = open(clock.now);
  const t = buildApp({ store, now: clock.now });
  const cookie = theSetCookie(await request(t.app).post('/set/cart/apples').expect(200), DEFAULT_NAME);
  return { t, clock, cookie, store };
}

async function whoami(t: TestApp, cookie: SetCookie): Promise<WhoAmI> {
  return (await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200)).body as WhoAmI;
}

function expiredEvents(events: SessionEvent[]) {
  return events.flatMap((event) => (event.type === 'expired' ? [event] : []));
}

describe.each(stores)('expired events on %s', (_name, open) => {
  it("emits an 'expired' event with reason 'idle' when a session is used at its idle deadline", async () => {
    const { t, clock, cookie, store } = await start(open);
    const key = storeKeyOfValue(cookie.value);

    clock.advance(30 * MINUTE);
    expect((await whoami(t, cookie)).isNew).toBe(true);

    expect(expiredEvents(t.events)).toEqual([expect.objectContaining({ type: 'expired', reason: 'idle', time: T0 + 30 * MINUTE })]);
    expect(t.events.filter((event) => event.type === 'invalid_token')).toEqual([]);
    expect(await store.get(key)).toBeNull();
  });

  it("emits an 'expired' event with reason 'absolute' when an active session reaches its absolute deadline", async () => {
    const { t, clock, cookie } = await start(open);
    // Follow the cookie as a browser does: the token rotates every 15 minutes.
    const jar = new CookieJar(cookie.name, cookie);
    const visit = async (): Promise<WhoAmI> => {
      const res = await request(t.app).get('/whoami').set('Cookie', jar.header).expect(200);
      jar.update(res);
      return res.body as WhoAmI;
    };
    for (let elapsed = 20 * MINUTE; elapsed < 12 * HOUR; elapsed += 20 * MINUTE) {
      clock.set(T0 + elapsed);
      await visit();
    }

    clock.set(T0 + 12 * HOUR);
    expect((await visit()).isNew).toBe(true);

    expect(expiredEvents(t.events)).toEqual([expect.objectContaining({ type: 'expired', reason: 'absolute' })]);
  });
});
