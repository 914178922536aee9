/**
 * Two app processes on one connect-redis store, the migration path the README advertises (a
 * legacy store behind a load balancer), measured against express-session itself on the same
 * store with the same workload:
 * - a rotation race (one session whose token is due, shown to both processes at once) never
 *   forks the session: every reply names the same session, and signing out with any of the
 *   cookies the race produced ends all of them;
 * - concurrent writes of different keys through both processes lose no more acknowledged
 *   writes than express-session does (both numbers are reported).
 * Real processes, real HTTP, the real Redis on loopback.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, stopApp, type AppProcess } from '../helpers/app-process.js';
import { REDIS_URL, reachRedis, serverUnavailable } from '../helpers/servers.js';

const SECRET = 'two-process-secret-0123456789-abcdefghijklmn';
const SCRIPT = 'test/fixtures/connect-redis-app.ts';
/** tessera's default rotateEvery (15 min), plus a second: every trial's token is due. */
const PAST_ROTATION_MS = 15 * 60_000 + 1000;
const TRIALS = 20;
/** Requests of one rotation race: two per process. */
const RACERS = 4;
const WRITERS = 20;
const ROUNDS = 6;
const TIMEOUT = 120_000;

interface Reply {
  status: number;
  body: { user: string | null; id?: string; keys?: string[]; pid: number };
  /** The `name=value` of the session cookie this reply set, if any. */
  setCookie: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function call(app: AppProcess, method: string, path: string, cookie?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, app.url);
    const req = httpRequest(url, { method, agent, headers: cookie === undefined ? {} : { cookie } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const line = (res.headers['set-cookie'] ?? []).find((l) => l.startsWith('connect.sid='));
        const value = line?.split(';')[0];
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Reply['body'], setCookie: value === 'connect.sid=' ? undefined : value });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const redis = await reachRedis();

if (!redis.ok) {
  serverUnavailable('two app processes on one connect-redis store', redis.reason);
} else {
  const prefix = `tessera-test:two-processes:${randomBytes(6).toString('hex')}:`;
  const apps: Record<'tessera' | 'express-session', AppProcess[]> = { tessera: [], 'express-session': [] };

  beforeAll(async () => {
    const start = (mode: string) => startApp(SCRIPT, { MODE: mode, SECRET, REDIS_URL, PREFIX: `${prefix}${mode}:` });
    apps.tessera = await Promise.all([start('tessera'), start('tessera')]);
    apps['express-session'] = await Promise.all([start('express-session'), start('express-session')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...apps.tessera, ...apps['express-session']].map((app) => stopApp(app)));
    agent.destroy();
    for await (const keys of redis.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await redis.client.del(keys);
    }
    await redis.client.close();
  });

  describe('two tessera processes on one connect-redis store', () => {
    it(
      `forks no session in ${TRIALS} rotation races (${RACERS} requests with one due token, across both processes)`,
      async ({ annotate }) => {
        const [a, b] = apps.tessera as [AppProcess, AppProcess];
        let rotatedCookies = 0;
        for (let trial = 0; trial < TRIALS; trial++) {
          const user = `racer-${trial}`;
          const signedIn = await call(a, 'POST', `/sign-in/${user}`);
          const first = signedIn.setCookie!;
          expect(first).toBeDefined();
          for (const app of [a, b]) expect((await call(app, 'POST', `/clock/${PAST_ROTATION_MS}`)).status).toBe(200);

          const replies = await Promise.all(Array.from({ length: RACERS }, (_, i) => call(i % 2 === 0 ? a : b, 'GET', '/me', first)));
          for (const reply of replies) {
            expect(reply.status, `trial ${trial}`).toBe(200);
            expect(reply.body.user, `trial ${trial}: every racer is signed in`).toBe(user);
          }
          // One session: every reply names the same session id.
          expect(new Set(replies.map((r) => r.body.id)).size, `trial ${trial}: one session`).toBe(1);
          const cookies = [...new Set([first, ...replies.flatMap((r) => (r.setCookie === undefined ? [] : [r.setCookie]))])];
          rotatedCookies += cookies.length - 1;
          // Each cookie the race produced still opens that one session, on either process.
          for (const [i, cookie] of cookies.entries()) {
            const seen = await call(i % 2 === 0 ? b : a, 'GET', '/me', cookie);
            expect(seen.body.user, `trial ${trial}: cookie ${i} still signed in`).toBe(user);
            expect(seen.body.id).toBe(replies[0]!.body.id);
          }
          // Signing out with one of them ends them all: nothing forked.
          const outWith = cookies[trial % cookies.length]!;
          await call(trial % 2 === 0 ? a : b, 'POST', '/sign-out', outWith);
          for (const [i, cookie] of cookies.entries()) {
            for (const app of [a, b]) {
              expect((await call(app, 'GET', '/me', cookie)).body.user, `trial ${trial}: cookie ${i} after sign-out`).toBeNull();
            }
          }
        }
        await annotate(`${TRIALS} races; ${rotatedCookies} new cookies handed out in all (the same pending token to every racer)`);
      },
      TIMEOUT,
    );
  });

  describe('acknowledged writes lost with two processes on one connect-redis store: tessera vs express-session', () => {
    /** Rounds of {@link WRITERS} concurrent writes of different keys, alternating processes; the acknowledged writes lost. */
    async function lostWrites(mode: 'tessera' | 'express-session'): Promise<{ acknowledged: number; lost: number }> {
      const [a, b] = apps[mode] as [AppProcess, AppProcess];
      let acknowledged = 0;
      let lost = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const cookie = (await call(a, 'POST', `/sign-in/writer-${mode}-${round}`)).setCookie!;
        expect(cookie).toBeDefined();
        const replies = await Promise.all(Array.from({ length: WRITERS }, (_, i) => call(i % 2 === 0 ? a : b, 'POST', `/set/k${i}`, cookie)));
        const written = replies.flatMap((reply, i) => (reply.status === 200 ? [`k${i}`] : []));
        const kept = new Set((await call(a, 'GET', '/me', cookie)).body.keys);
        acknowledged += written.length;
        lost += written.filter((key) => !kept.has(key)).length;
      }
      return { acknowledged, lost };
    }

    it(
      `tessera loses no more of ${WRITERS * ROUNDS} writes than express-session on the same store`,
      async ({ annotate }) => {
        const expressSessionLoss = await lostWrites('express-session');
        const tesseraLoss = await lostWrites('tessera');
        await annotate(
          `express-session lost ${expressSessionLoss.lost} of ${expressSessionLoss.acknowledged} acknowledged writes; ` +
            `tessera lost ${tesseraLoss.lost} of ${tesseraLoss.acknowledged}`,
        );
        // tessera acknowledges every write (no 5xx, no WRITE_CONFLICT surfacing to the client).
        expect(tesseraLoss.acknowledged).toBe(WRITERS * ROUNDS);
        expect(tesseraLoss.lost).toBeLessThanOrEqual(expressSessionLoss.lost);
      },
      TIMEOUT,
    );
  });
}
