/**
 * Host clocks that are wrong, then corrected: a session never outlives its deadlines because
 * of a clock error, a small skew (within `maxClockSkew`) is tolerated, and a clock that falls
 * back never shortens a session. Through the Express drop-in over HTTP, on a MemoryStore and a
 * SqliteStore, with the store and the sessions on the same frozen clock.
 */
import type { Request } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { HOUR, MINUTE, SECOND, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { CookieJar, storeKeyOfValue, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, tesseraOf, type TestApp } from '../helpers/express-app.js';

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

/** What `GET /deadlines` answers: the session as `req.tessera` sees it. */
interface Deadlines {
  userId: string | null;
  isNew: boolean;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

/** One browser on one app: a cookie jar that follows rotation, and the store behind the app. */
interface Browser {
  t: TestApp;
  clock: TestClock;
  store: Store;
  /** `GET /deadlines` with the browser's cookie. */
  deadlines(): Promise<Deadlines>;
  /** `POST /set/:key/:value` with the browser's cookie. */
  set(key: string, value: string): Promise<void>;
  /** `POST /signin/:user`; keeps the cookie. */
  signIn(user: string): Promise<void>;
  /** The session's record in the store, read directly. */
  record(): ReturnType<Store['get']>;
}

function start(open: (now: () => number) => Store, options: Partial<ExpressSessionOptions> = {}): Browser {
  const clock = frozenClock();
  const store = open(clock.now);
  const t = buildApp({ store, now: clock.now, ...options });
  t.app.get('/deadlines', (req: Request, res) => {
    const rs = tesseraOf(req);
    const body: Deadlines = {
      userId: rs.userId,
      isNew: rs.isNew,
      createdAt: rs.createdAt,
      lastSeenAt: rs.lastSeenAt,
      idleExpiresAt: rs.idleExpiresAt,
      absoluteExpiresAt: rs.absoluteExpiresAt,
    };
    res.json(body);
  });
  const jar = new CookieJar(DEFAULT_NAME);
  let key: string | undefined;
  const send = async (method: 'get' | 'post', path: string) => {
    const req = method === 'get' ? request(t.app).get(path) : request(t.app).post(path);
    const res = await (jar.header === '' ? req : req.set('Cookie', jar.header)).expect(200);
    jar.update(res);
    return res;
  };
  return {
    t,
    clock,
    store,
    deadlines: async () => (await send('get', '/deadlines')).body as Deadlines,
    set: async (k, v) => {
      await send('post', `/set/${k}/${v}`);
    },
    signIn: async (user) => {
      const res = await send('post', `/signin/${user}`);
      key = storeKeyOfValue(theSetCookie(res, DEFAULT_NAME).value);
    },
    record: () => {
      if (key === undefined) throw new Error('not signed in');
      return store.get(key);
    },
  };
}

function expiredReasons(events: SessionEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'expired' ? [event.reason] : []));
}

describe.each(stores)('sessions under wrong host clocks on %s', (_name, open) => {
  it("ends a session signed in while the clock was 5 h ahead at the next request after the correction, with reason 'clock'", async () => {
    const b = start(open);
    b.clock.set(T0 + 5 * HOUR);
    await b.signIn('alice');

    // The clock is corrected; the user comes back a minute later. Had the record's times been
    // trusted, the session would have survived 4 h 45 min of idleness past its 30 min timeout.
    b.clock.set(T0 + MINUTE);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: null, isNew: true });
    expect(expiredReasons(b.t.events)).toEqual(['clock']);
    expect(await b.record()).toBeNull();
  });

  it('tolerates a clock 90 s ahead (within the 2 min default skew) and counts the idle deadline from now, not from the future time', async () => {
    const b = start(open);
    b.clock.set(T0 + 90 * SECOND);
    await b.signIn('alice');

    b.clock.set(T0);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: 'alice', isNew: false, lastSeenAt: T0, idleExpiresAt: T0 + 30 * MINUTE });
    expect(expiredReasons(b.t.events)).toEqual([]);
  });

  it('ends a session signed in 90 s ahead, then left idle, no later than idleTimeout + maxClockSkew by the correct clock', async () => {
    const b = start(open);
    b.clock.set(T0 + 90 * SECOND);
    await b.signIn('alice');
    b.clock.set(T0);
    expect((await b.deadlines()).userId).toBe('alice');

    // The record keeps the time of the clock that wrote it (a host whose clock is right may
    // share the store), so a skew within maxClockSkew may stretch idleness by at most that much.
    b.clock.set(T0 + 90 * SECOND + 30 * MINUTE);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: null, isNew: true });
    expect(expiredReasons(b.t.events)).toEqual(['idle']);
  });

  /** Signed in at T0, written at T0 + 10 min, then written again once the clock fell back 90 s. */
  async function writtenWhileFallenBack(b: Browser): Promise<number> {
    await b.signIn('alice');
    b.clock.set(T0 + 10 * MINUTE);
    await b.set('step', 'one');
    const before = (await b.record())!.lastSeenAt;
    expect(before).toBe(T0 + 10 * MINUTE);
    b.clock.set(T0 + 10 * MINUTE - 90 * SECOND);
    await b.set('step', 'two');
    return before;
  }

  it('keeps a session written while the clock had fallen back 90 s live once the clock is corrected', async () => {
    const b = start(open);
    const before = await writtenWhileFallenBack(b);

    b.clock.set(T0 + 11 * MINUTE);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: 'alice', isNew: false });
    expect((await b.record())!.data).toEqual({ step: 'two' });
    expect((await b.record())!.lastSeenAt).toBeGreaterThanOrEqual(before);
    expect(expiredReasons(b.t.events)).toEqual([]);
  });

  it('does not move the stored lastSeenAt back when it writes while the clock has fallen back 90 s', async () => {
    const b = start(open);
    const before = await writtenWhileFallenBack(b);

    b.clock.set(T0 + 10 * MINUTE);
    const record = (await b.record())!;

    expect(record.data).toEqual({ step: 'two' });
    expect(record.lastSeenAt).toBeGreaterThanOrEqual(before);
  });

  it("never puts the idle deadline past created + absoluteTimeout, and ends an active session with reason 'absolute' at that time", async () => {
    const b = start(open, { absoluteTimeout: HOUR });
    await b.signIn('alice');

    // Active every minute (the browser follows every token rotation).
    for (let elapsed = MINUTE; elapsed < HOUR; elapsed += MINUTE) {
      b.clock.set(T0 + elapsed);
      const now = await b.deadlines();
      expect(now).toMatchObject({ userId: 'alice', createdAt: T0, absoluteExpiresAt: T0 + HOUR });
      expect(now.idleExpiresAt).toBeLessThanOrEqual(now.absoluteExpiresAt);
      if (elapsed > 30 * MINUTE) expect(now.idleExpiresAt).toBe(T0 + HOUR);
    }
    // The store does not keep the record past the absolute deadline either (beyond its short grace).
    expect((await b.record())!.expiresAt).toBeLessThanOrEqual(T0 + HOUR + MINUTE);

    b.clock.set(T0 + HOUR);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: null, isNew: true });
    expect(expiredReasons(b.t.events)).toEqual(['absolute']);
  });

  it("ends a record 1 s ahead with reason 'clock' under maxClockSkew: 0", async () => {
    const b = start(open, { maxClockSkew: 0 });
    b.clock.set(T0 + SECOND);
    await b.signIn('alice');

    b.clock.set(T0);
    const after = await b.deadlines();

    expect(after).toMatchObject({ userId: null, isNew: true });
    expect(expiredReasons(b.t.events)).toEqual(['clock']);
  });
});
