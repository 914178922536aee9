/**
 * PostgreSQL outages under load, on a private server this file starts (never the shared one):
 * requests in the outage window get 503 within a bounded time, never a fresh session; the
 * process stays up; once the server is back the sessions created before the outage work again,
 * without restarting the app (the store's pool reconnects). The app uses
 * `saveErrors: 'instead-of-response'`, so a write that fails is a 503 too (by default, as in
 * express-session, the app's response goes out and the error follows it to `next(err)`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/core/events.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { buildApp, listen, type WhoAmI } from '../helpers/express-app.js';
import { serverUnavailable } from '../helpers/servers.js';
import { privatePostgres, type PrivatePostgres } from '../helpers/sql-servers.js';

const STORE_TIMEOUT_MS = 500;
/** Liveness bound of one request during an outage (client side, generous; not a timing test). */
const LIVENESS_MS = 5 * STORE_TIMEOUT_MS;
const SESSIONS = 5;
const WORKERS = 8;

const server = await privatePostgres();
if ('skip' in server && process.env['CI'] === 'true') {
  throw new Error(`the PostgreSQL outage tests cannot run: ${server.skip}; CI=true requires them`);
}

/** What the client saw of one request. */
interface Outcome {
  /** When the request was sent and answered (ms, `performance.now()`). */
  sent: number;
  answered: number;
  status: number;
  /** Whether the request carried a session cookie. */
  withCookie: boolean;
  /** The `name=value` of the cookie the response set, if any. */
  setCookie: string | undefined;
  body: string;
}

if ('skip' in server) {
  serverUnavailable('keeps answering 503 through PostgreSQL outages', server.skip);
} else {
  describe('PostgresStore through PostgreSQL outages (Express, private server)', () => {
    const pgServer: PrivatePostgres = server;
    let store: PostgresStore;
    let http: Awaited<ReturnType<typeof listen>>;
    const events: SessionEvent[] = [];

    beforeAll(async () => {
      await pgServer.start();
      store = new PostgresStore({ connectionString: pgServer.url, purgeIntervalMs: 0 });
      const { app } = buildApp({ store, storeTimeout: STORE_TIMEOUT_MS, saveErrors: 'instead-of-response', onEvent: (event) => events.push(event) });
      http = await listen(app);
    });

    afterAll(async () => {
      await http?.close();
      await store?.close();
      await pgServer.destroy();
    });

    async function send(method: 'GET' | 'POST', path: string, cookie?: string): Promise<Outcome> {
      const sent = performance.now();
      const res = await fetch(`${http.url}${path}`, { method, headers: cookie === undefined ? {} : { cookie } });
      const body = await res.text();
      const [setCookie] = res.headers.getSetCookie();
      return { sent, answered: performance.now(), status: res.status, withCookie: cookie !== undefined, setCookie: setCookie?.split(';')[0], body };
    }

    async function createSessions(): Promise<string[]> {
      const cookies: string[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const created = await send('POST', `/set/n/${i}`);
        expect(created.status).toBe(200);
        cookies.push(created.setCookie ?? '');
      }
      return cookies;
    }

    /**
     * Keep {@link WORKERS} clients busy reading, writing and creating sessions; run `disrupt`
     * after 200 ms; stop once `during` requests were sent after `disrupt` returned.
     */
    async function underLoad(cookies: string[], disrupt: () => Promise<void> | void, during: number) {
      const outcomes: Outcome[] = [];
      let since = Infinity;
      let sentSince = 0;
      const worker = async (w: number): Promise<void> => {
        for (let n = 0; sentSince < during; n++) {
          const cookie = cookies[(w + n) % cookies.length];
          if (performance.now() >= since) sentSince++;
          const kind = n % 3;
          outcomes.push(
            kind === 0
              ? await send('GET', '/whoami', cookie)
              : kind === 1
                ? await send('POST', `/set/w${w}/${n}`, cookie)
                : await send('POST', `/set/fresh/${n}`),
          );
        }
      };
      const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      await new Promise((resolve) => setTimeout(resolve, 200));
      await disrupt();
      since = performance.now();
      await load;
      return { outcomes, duringOutage: outcomes.filter((o) => o.sent >= since) };
    }

    function expectOutageAnswers(outcomes: Outcome[], duringOutage: Outcome[], during: number): void {
      expect(duringOutage.length).toBeGreaterThanOrEqual(during);
      expect(duringOutage.filter((o) => o.status !== 503)).toEqual([]);
      expect(duringOutage.filter((o) => o.setCookie !== undefined)).toEqual([]);
      expect(duringOutage.filter((o) => o.answered - o.sent >= LIVENESS_MS)).toEqual([]);
      // Around the start of the outage a request may still succeed, but never with a made-up session.
      expect(outcomes.filter((o) => o.status !== 200 && o.status !== 503)).toEqual([]);
      expect(outcomes.filter((o) => o.withCookie && o.setCookie !== undefined)).toEqual([]);
    }

    async function expectSessionsBack(cookies: string[]): Promise<void> {
      for (const [i, cookie] of cookies.entries()) {
        await expect.poll(async () => (await send('GET', '/whoami', cookie)).status, { timeout: 10_000 }).toBe(200);
        const read = await send('GET', '/whoami', cookie);
        const body = JSON.parse(read.body) as WhoAmI;
        expect(body.isNew).toBe(false);
        expect(body.data['n']).toBe(String(i));
        expect(read.setCookie).toBeUndefined();
      }
      const fresh = await send('POST', '/set/after/outage');
      expect(fresh.status).toBe(200);
      expect(fresh.setCookie).toBeDefined();
    }

    it('answers 503 while the server is down (pg_ctl stop -m immediate) and serves the old sessions after it restarts', async () => {
      const cookies = await createSessions();
      const errorsBefore = events.filter((e) => e.type === 'store_error').length;

      const { outcomes, duringOutage } = await underLoad(cookies, () => pgServer.crash(), 40);

      expectOutageAnswers(outcomes, duringOutage, 40);
      expect(events.filter((e) => e.type === 'store_error').length).toBeGreaterThan(errorsBefore);
      // The process is up: the app still answers a route that needs no session.
      expect((await send('GET', '/noop')).status).toBe(200);
      await pgServer.start();
      await expectSessionsBack(cookies);
    }, 60_000);

    it('answers 503 within the store timeout while the server hangs (SIGSTOP) and serves the old sessions once it resumes', async () => {
      const cookies = await createSessions();

      const { outcomes, duringOutage } = await underLoad(cookies, () => pgServer.freeze(), 16);

      expectOutageAnswers(outcomes, duringOutage, 16);
      // Nothing answers, so each of these waited for the store timeout.
      expect(duringOutage.filter((o) => o.answered - o.sent < STORE_TIMEOUT_MS * 0.9)).toEqual([]);
      expect((await send('GET', '/noop')).status).toBe(200);
      pgServer.thaw();
      await expectSessionsBack(cookies);
    }, 60_000);
  });
}
