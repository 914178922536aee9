/**
 * Redis goes away under load and comes back. On a private redis-server (a child process on a
 * free loopback port, AOF with fsync on every write), behind the Express drop-in:
 * - requests of existing sessions during the outage get 503 within the store deadline (no hang,
 *   no fresh session handed out instead), and the process keeps serving;
 * - once Redis is back (same data directory), the sessions created before the outage work again,
 *   without restarting the app or the client.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.js';
import { DEFAULT_NAME, buildApp, listen, type WhoAmI } from '../helpers/express-app.js';
import { connectStandalone, describeWithServer, probe, type Library, type TestClient } from '../helpers/redis.js';

/** The deadline of one store call, in ms. */
const STORE_TIMEOUT = 300;
/** Liveness bound of one request during the outage (not a performance target), in ms. */
const REQUEST_BOUND = 5 * STORE_TIMEOUT;
/** How long requests keep running while Redis is down, in ms. */
const OUTAGE_MS = 1_500;
const WORKERS = 4;
const SESSIONS = 5;

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server child process with append-only persistence in `dir`. */
class RedisProcess {
  #child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes'];
    args.push('--appendfsync', 'always', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log'));
    this.#child = spawn('redis-server', args, { stdio: 'ignore' });
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((await probe({ host: '127.0.0.1', port: this.port }, 'PING', 200))?.startsWith('+PONG')) return;
      await sleep(50);
    }
    throw new Error(`redis-server on port ${this.port} did not start; see ${this.dir}/redis.log`);
  }

  /** Kill the server without letting it save or say goodbye (a crash), and wait until it is gone. */
  async crash(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One request's outcome, timed on the client side. */
interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number;
  setsCookie: boolean;
}

async function timed(url: string, init: RequestInit): Promise<Outcome> {
  const startedAt = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10 * REQUEST_BOUND) });
  await res.arrayBuffer();
  return { startedAt, endedAt: Date.now(), status: res.status, setsCookie: res.headers.has('set-cookie') };
}

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describeWithServer(
  'RedisStore through a Redis outage',
  hasRedisServer ? undefined : 'redis-server is not installed',
  () => {
    describe.each<Library>(['node-redis', 'ioredis'])('with %s', (library) => {
      it('answers 503 within the deadline while Redis is down, and serves pre-outage sessions after it restarts', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'tessera-redis-outage-'));
        cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
        const redis = new RedisProcess(await freePort(), dir);
        cleanups.push(() => redis.crash());
        await redis.start();

        const t: TestClient = await connectStandalone(library, `redis://127.0.0.1:${redis.port}`);
        cleanups.push(() => t.close());
        const store = new RedisStore({ client: t.client, prefix: 'outage:' });
        const { app } = buildApp({ store, storeTimeout: STORE_TIMEOUT });
        const server = await listen(app);
        cleanups.push(server.close);

        // Sessions created (and written once more) before the outage.
        const cookies: string[] = [];
        for (let i = 0; i < SESSIONS; i++) {
          const res = await fetch(`${server.url}/set/n/${i}`, { method: 'POST' });
          const cookie = res.headers.get('set-cookie')?.split(';')[0];
          if (res.status !== 200 || !cookie?.startsWith(`${DEFAULT_NAME}=`)) throw new Error('no session created');
          cookies.push(cookie);
          expect((await fetch(`${server.url}/set/m/${i}`, { method: 'POST', headers: { cookie } })).status).toBe(200);
        }

        // Load: WORKERS loops of session reads and writes, until the outage window has passed.
        let killingAt = Infinity; // SIGKILL sent
        let killedAt = Infinity; // the server is gone
        let stopAt = Infinity;
        const outcomes: Outcome[] = [];
        const worker = async (w: number) => {
          for (let n = 0; Date.now() < stopAt && n < 1_000; n++) {
            const cookie = cookies[(w + n) % SESSIONS] ?? '';
            const write = n % 2 === 1;
            const path = write ? `/set/w${w}/${n}` : '/whoami';
            outcomes.push(await timed(`${server.url}${path}`, { method: write ? 'POST' : 'GET', headers: { cookie } }));
          }
        };
        const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
        await sleep(200);
        killingAt = Date.now();
        await redis.crash();
        killedAt = Date.now();
        stopAt = killedAt + OUTAGE_MS;
        const noop = await timed(`${server.url}/noop`, { method: 'GET' });
        await load;

        const before = outcomes.filter((o) => o.endedAt < killingAt);
        const during = outcomes.filter((o) => o.startedAt > killedAt);
        expect(before.length).toBeGreaterThan(0);
        expect(before.every((o) => o.status === 200)).toBe(true);
        expect(during.length).toBeGreaterThanOrEqual(WORKERS * 2);
        expect(during.map((o) => o.status)).toEqual(during.map(() => 503));
        expect(during.filter((o) => o.setsCookie)).toEqual([]);
        expect(outcomes.every((o) => o.status === 200 || o.status === 503)).toBe(true);
        expect(Math.max(...outcomes.map((o) => o.endedAt - o.startedAt))).toBeLessThan(REQUEST_BOUND);
        expect(noop.status).toBe(200); // the process is up and serves what needs no session

        // Redis comes back on the same directory; the app and its client were never restarted.
        await redis.start();
        const first = cookies[0] ?? '';
        await expect
          .poll(async () => (await fetch(`${server.url}/whoami`, { headers: { cookie: first } })).status, {
            timeout: 15_000,
            interval: 100,
          })
          .toBe(200);
        for (const [i, cookie] of cookies.entries()) {
          const res = await fetch(`${server.url}/whoami`, { headers: { cookie } });
          expect(res.status).toBe(200);
          const body = (await res.json()) as WhoAmI;
          expect(body.isNew).toBe(false);
          expect(body.data).toMatchObject({ n: String(i), m: String(i) });
        }
        expect((await fetch(`${server.url}/set/after/yes`, { method: 'POST', headers: { cookie: first } })).status).toBe(200);
      }, 60_000);
    });
  },
);
