/**
 * Many concurrent requests of one signed-in session, on every store, through real HTTP (Express
 * apps on loopback servers). What the README and `src/core/handle.ts` promise:
 * - requests that set *different* keys all win: no 5xx, no `WRITE_CONFLICT`, every key kept;
 * - `update(key, fn)` counts every request, within one app instance and across two instances on
 *   one store (the cross-process compare-and-set path, with backoff between attempts);
 * - plain sets of the *same* key: the last writer wins.
 *
 * Every outcome asserted is deterministic; how many compare-and-set conflicts a run met is not,
 * and is only reported (as a test annotation).
 */
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T0 } from '../helpers/clock.js';
import { cookieHeader, setCookiesNamed } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, listen, type WhoAmI } from '../helpers/express-app.js';
import { storeKinds, type OpenStore, type SharedStore } from '../helpers/every-store.js';
import { RecordingStore } from '../helpers/recording-store.js';
import type { Store } from '../../src/store/types.js';

const { kinds, skipped } = await storeKinds();

/** PostgreSQL and MariaDB on two cores take their time with hundreds of writes. */
const TIMEOUT = 60_000;
const PARALLEL = 200;
const SAME_KEY = 50;
/** The kind whose compare-and-set holds within one process only (README, "Stores"). */
const LEGACY = 'connect-redis (legacy)';

/** One app instance: its own engine and middleware, on a counting view of a store handle. */
interface Instance {
  store: RecordingStore;
  url: string;
  /** The most requests that were between loading the session and changing it at once. */
  overlap: { now: number; peak: number };
  close: () => Promise<void>;
}

interface Reply {
  status: number;
  body: string;
  /** The `Cookie` header to send next: the one this reply set, or the one sent. */
  cookie: string | undefined;
}

describe.each(kinds)('concurrent requests of one session on $name', (kind) => {
  const now = kind.fakeClock ? () => T0 : Date.now;
  // Enough sockets that the requests reach the app at once, few enough not to test the OS.
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  let opened: OpenStore;
  let shared: SharedStore | undefined;
  let first: Instance;
  let second: Instance;

  beforeAll(async () => {
    opened = await kind.open(now);
    // A second engine on a second handle of the same sessions (memory: the same store object):
    // the two instances share no write queue, so only compare-and-set keeps them apart.
    shared = await opened.openShared?.();
    first = await instance(opened.store);
    second = await instance(shared?.store ?? opened.store);
  }, TIMEOUT);

  afterAll(async () => {
    await first?.close();
    await second?.close();
    agent.destroy();
    await shared?.close();
    await opened?.close();
  }, TIMEOUT);

  async function instance(store: Store): Promise<Instance> {
    const counted = new RecordingStore(store);
    const overlap = { now: 0, peak: 0 };
    // Between loading the session and changing it, each route waits for the next turn of the
    // event loop, as a handler doing any I/O would. Without it, a store that answers at once
    // (memory, SQLite) would finish each request before the next one is parsed: no overlap.
    const io = async () => {
      overlap.now += 1;
      overlap.peak = Math.max(overlap.peak, overlap.now);
      await new Promise((resolve) => setImmediate(resolve));
      overlap.now -= 1;
    };
    // `POST /concurrent/:key/:value` is `POST /set/:key/:value` after `beforeSet`.
    const t = buildApp({ store: counted, now, beforeSet: io });
    t.app.post('/increment', async (req, res) => {
      await io();
      req.tessera.data.update<number>('count', (n) => (typeof n === 'number' ? n : 0) + 1);
      res.json({ ok: true });
    });
    const server = await listen(t.app);
    return { store: counted, url: server.url, overlap, close: server.close };
  }

  function send(to: Instance, method: string, path: string, cookie?: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = cookie === undefined ? {} : { cookie };
      const req = httpRequest(to.url + path, { method, agent, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const set = setCookiesNamed(res, DEFAULT_NAME)[0];
          resolve({ status: res.statusCode ?? 0, body, cookie: set === undefined ? cookie : cookieHeader(set) });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** A signed-in session holding `init: 'yes'`; its cookie. */
  async function signedInSession(): Promise<string> {
    const signIn = await send(first, 'POST', '/signin/alice');
    expect(signIn.status).toBe(200);
    const set = await send(first, 'POST', '/set/init/yes', signIn.cookie);
    expect(set.status).toBe(200);
    return set.cookie!;
  }

  async function read(cookie: string): Promise<WhoAmI> {
    const reply = await send(first, 'GET', '/whoami', cookie);
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body) as WhoAmI;
  }

  /**
   * Fire `count` POST requests of one session at once, request `i` to `route(i)`; every one must
   * answer 200 (no 5xx, no `WRITE_CONFLICT`).
   */
  async function fire(count: number, route: (i: number) => [Instance, string], cookie: string): Promise<void> {
    for (const one of [first, second]) {
      one.store.reset();
      one.overlap.peak = 0;
    }
    const replies = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const [to, path] = route(i);
        return { i, reply: await send(to, 'POST', path, cookie) };
      }),
    );
    const failed = replies.filter(({ reply }) => reply.status !== 200).map(({ i, reply }) => `#${i}: ${reply.status} ${reply.body}`);
    expect(failed).toEqual([]);
  }

  /**
   * What the last {@link fire} met, per instance: compare-and-set writes the store refused (the
   * version had moved on), and the most requests that overlapped.
   */
  function conflicts(): string {
    const seen = (one: Instance) => {
      const refused = one.store.calls.filter((call) => call.op === 'set' && call.written === false).length;
      return `${refused} compare-and-set conflicts, up to ${one.overlap.peak} requests at once`;
    };
    return second.overlap.peak === 0 ? seen(first) : `first instance: ${seen(first)}; second: ${seen(second)}`;
  }

  it(
    `keeps every key when ${PARALLEL} concurrent requests each set a different key, with the data the session held`,
    async ({ annotate }) => {
      const cookie = await signedInSession();
      await fire(PARALLEL, (i) => [first, `/concurrent/k${i}/v${i}`], cookie);
      await annotate(conflicts());
      const keys = Object.fromEntries(Array.from({ length: PARALLEL }, (_, i) => [`k${i}`, `v${i}`]));
      expect(await read(cookie)).toEqual({ userId: 'alice', data: { init: 'yes', ...keys }, isNew: false });
    },
    TIMEOUT,
  );

  it(
    `counts ${PARALLEL} concurrent update('count', n => n + 1) requests on one instance`,
    async ({ annotate }) => {
      const cookie = await signedInSession();
      await fire(PARALLEL, () => [first, '/increment'], cookie);
      await annotate(conflicts());
      expect(await read(cookie)).toEqual({ userId: 'alice', data: { init: 'yes', count: PARALLEL }, isNew: false });
    },
    TIMEOUT,
  );

  const twoInstances = `through two app instances on one ${kind.name === 'memory' ? 'store object' : `${kind.name} server`}, alternating`;
  if (kind.name === LEGACY) {
    // A LegacyStore's compare-and-set is a read-then-write in a queue of its own process: two
    // instances can both write over the same version, so increments may be lost. What holds:
    // every request answers, and none counts twice.
    it(
      `${twoInstances} [compare-and-set is atomic within one process only (README)]: answers all ${PARALLEL} update() requests and never counts one twice, though it may lose some`,
      async ({ annotate }) => {
        const cookie = await signedInSession();
        await fire(PARALLEL, (i) => [i % 2 === 0 ? first : second, '/increment'], cookie);
        const { data } = await read(cookie);
        await annotate(`count ${String(data['count'])} of ${PARALLEL}; ${conflicts()}`);
        expect(data['count']).toBeGreaterThanOrEqual(1);
        expect(data['count']).toBeLessThanOrEqual(PARALLEL);
        expect(data['init']).toBe('yes');
      },
      TIMEOUT,
    );
  } else {
    it(
      `counts ${PARALLEL} concurrent update() requests ${twoInstances} (compare-and-set across instances, with backoff)`,
      async ({ annotate }) => {
        expect(shared, `${kind.name} must open a second handle (openShared)`).toBeDefined();
        const cookie = await signedInSession();
        await fire(PARALLEL, (i) => [i % 2 === 0 ? first : second, '/increment'], cookie);
        await annotate(conflicts());
        expect(await read(cookie)).toEqual({ userId: 'alice', data: { init: 'yes', count: PARALLEL }, isNew: false });
      },
      TIMEOUT,
    );
  }

  it(
    `ends ${SAME_KEY} concurrent plain set('colour') requests with one of their values: the same key is last-writer-wins (different keys always merge; update() is the way to count every write)`,
    async ({ annotate }) => {
      const cookie = await signedInSession();
      await fire(SAME_KEY, (i) => [first, `/concurrent/colour/c${i}`], cookie);
      await annotate(conflicts());
      const { userId, data } = await read(cookie);
      expect(userId).toBe('alice');
      expect(Object.keys(data).sort()).toEqual(['colour', 'init']);
      expect(Array.from({ length: SAME_KEY }, (_, i) => `c${i}`)).toContain(data['colour']);
    },
    TIMEOUT,
  );
});

describe.skipIf(skipped.length === 0)('store kinds without a server here', () => {
  it.each(skipped)('$name [skipped: $reason]', () => undefined);
});
