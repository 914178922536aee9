/**
 * No lost updates: parallel requests of one session that change different keys all win, on
 * every store, over real HTTP against one listening Express 5 app.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { frozenClock, type TestClock } from '../helpers/clock.js';
import { cookieHeader, isClearing, setCookieLines, storeKeyOfValue, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, barrier, buildApp, gate, listen, type AppOptions, type WhoAmI } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

const PARALLEL = 20;

interface StoreCase {
  name: string;
  /** A fresh store on the clock; `path` is a temp dir the case may use. */
  open(now: () => number, dir: string): Store;
  /** Whether two stores opened on the same `dir` share their sessions (a file database). */
  shared: boolean;
}

const storeCases: StoreCase[] = [
  { name: 'MemoryStore', open: (now) => new MemoryStore({ now, sweepIntervalMs: 0 }), shared: false },
  {
    name: 'SqliteStore (temp file)',
    open: (now, dir) => new SqliteStore({ database: join(dir, 'sessions.db'), now, purgeIntervalMs: 0 }),
    shared: true,
  },
  { name: "SqliteStore (':memory:')", open: (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 }), shared: false },
];

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-concurrency-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One listening app on a recording store; closed after the test. */
async function start(storeCase: StoreCase, options: AppOptions = {}, clock: TestClock = frozenClock(), dir = tempDir()) {
  const store = new RecordingStore(storeCase.open(clock.now, dir));
  const t = buildApp({ store, now: clock.now, ...options });
  const server = await listen(t.app);
  cleanups.push(() => store.close());
  cleanups.push(server.close);
  return { ...t, store, server: server.server, clock, dir };
}

type Started = Awaited<ReturnType<typeof start>>;

/** Create a session holding `init=yes` and return its cookie header. */
async function newSession(app: Started): Promise<string> {
  const res = await request(app.server).post('/set/init/yes').expect(200);
  return cookieHeader(theSetCookie(res, DEFAULT_NAME));
}

async function read(app: Started, cookie: string): Promise<WhoAmI> {
  return (await request(app.server).get('/whoami').set('Cookie', cookie).expect(200)).body as WhoAmI;
}

function expectedKeys(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: PARALLEL }, (_, i) => [`k${i}`, `v${i}`]));
}

describe.each(storeCases)('parallel requests of one session on $name', (storeCase) => {
  it(`keeps all ${PARALLEL} keys when ${PARALLEL} parallel requests each set a different key`, async () => {
    const app = await start(storeCase);
    const cookie = await newSession(app);

    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        request(app.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
      ),
    );

    for (const res of responses) expect(setCookieLines(res)).toEqual([]);
    expect(await read(app, cookie)).toEqual({ userId: null, data: { init: 'yes', ...expectedKeys() }, isNew: false });
  });

  it(`keeps all ${PARALLEL} keys when every request loaded the same version before any of them wrote, with no conflict in one process`, async () => {
    const app = await start(storeCase, { beforeSet: barrier(PARALLEL) });
    const cookie = await newSession(app);
    app.store.reset();

    await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        request(app.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
      ),
    );

    // Writes of one process take turns, each starting from the record the one before it
    // wrote: no compare-and-set conflict, and no store read to recover from one.
    const sets = app.store.calls.flatMap((call) => (call.op === 'set' ? [call] : []));
    expect(sets.filter((call) => call.written === true)).toHaveLength(PARALLEL);
    expect(sets.filter((call) => call.written === false)).toHaveLength(0);
    expect(app.store.calls.filter((call) => call.op === 'get')).toHaveLength(PARALLEL);
    expect(await read(app, cookie)).toEqual({ userId: null, data: { init: 'yes', ...expectedKeys() }, isNew: false });
  });

  it('lets parallel deletes and sets of different keys all win', async () => {
    const app = await start(storeCase, { beforeSet: barrier(PARALLEL) });
    const cookie = await newSession(app);
    const half = PARALLEL / 2;
    for (let i = 0; i < half; i++) {
      await request(app.server).post(`/set/old${i}/x`).set('Cookie', cookie).expect(200);
    }

    await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        i < half
          ? request(app.server).post(`/delete/old${i}`).set('Cookie', cookie).expect(200)
          : request(app.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
      ),
    );

    const expected = Object.fromEntries(Array.from({ length: half }, (_, j) => [`k${half + j}`, `v${half + j}`]));
    expect((await read(app, cookie)).data).toEqual({ init: 'yes', ...expected });
  });

  it('does not resurrect a session that was signed out while parallel writes were in flight', async () => {
    const held = gate(PARALLEL);
    const app = await start(storeCase, { beforeSet: held.arrive });
    const cookie = await newSession(app);
    const key = storeKeyOfValue(cookie.slice(DEFAULT_NAME.length + 1));

    const writes = Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        request(app.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
      ),
    );
    await held.allArrived; // every write has loaded the session
    await request(app.server).post('/signout').set('Cookie', cookie).expect(200);
    held.release();
    const responses = await writes;

    expect(await app.store.inner.get(key)).toBeNull();
    for (const res of responses) expect(isClearing(theSetCookie(res, DEFAULT_NAME))).toBe(true);
    expect(await read(app, cookie)).toEqual({ userId: null, data: {}, isNew: true });
  });
});

describe('parallel requests of one session on two app instances sharing one SQLite file', () => {
  it(`keeps all ${PARALLEL} keys when the requests alternate between the instances`, async () => {
    const storeCase = storeCases[1]!;
    const clock = frozenClock();
    const dir = tempDir();
    const gate = barrier(PARALLEL);
    const first = await start(storeCase, { beforeSet: gate }, clock, dir);
    const second = await start(storeCase, { beforeSet: gate }, clock, dir);
    const cookie = await newSession(first);

    await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        request((i % 2 === 0 ? first : second).server)
          .post(`/concurrent/k${i}/v${i}`)
          .set('Cookie', cookie)
          .expect(200),
      ),
    );

    const expected = { userId: null, data: { init: 'yes', ...expectedKeys() }, isNew: false };
    expect(await read(first, cookie)).toEqual(expected);
    expect(await read(second, cookie)).toEqual(expected);
  });
});
