/**
 * Two app processes share one store (Redis, then PostgreSQL): a session created on A works on
 * B, a sign-out on A is seen by B at once, and "sign out everywhere" from B ends the sessions
 * that were created on A. Real processes, real HTTP, real servers on loopback.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp as startScript, stopApp, type AppProcess } from '../helpers/app-process.js';
import { DATABASE_URL, REDIS_URL, reachPostgres, reachRedis, serverUnavailable } from '../helpers/servers.js';

const SECRET = 'multi-process-secret-0123456789-abcdefghij';

/** test/fixtures/app-server.ts in its own process, on the store `env` names. */
const startApp = (env: Record<string, string>): Promise<AppProcess> => startScript('test/fixtures/app-server.ts', { SECRET, ...env });

interface Answer {
  user: string | null;
  pid: number;
  ended?: number;
}

async function call(app: AppProcess, method: string, path: string, cookie?: string): Promise<{ body: Answer; cookie: string | undefined }> {
  const response = await fetch(app.url + path, { method, headers: cookie === undefined ? {} : { cookie } });
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie');
  return { body: (await response.json()) as Answer, cookie: setCookie?.split(';')[0] };
}

function sharedStoreSuite(name: string, env: () => Record<string, string>, cleanup: () => Promise<void>): void {
  describe(`two app processes on one ${name} store`, () => {
    let a: AppProcess | undefined;
    let b: AppProcess | undefined;

    beforeAll(async () => {
      [a, b] = await Promise.all([startApp(env()), startApp(env())]);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([stopApp(a), stopApp(b)]);
      await cleanup();
    });

    it('serves a session created on A from B, a different process', async () => {
      const signIn = await call(a!, 'POST', '/sign-in/alice');
      const onB = await call(b!, 'GET', '/me', signIn.cookie);
      expect(onB.body.user).toBe('alice');
      expect(onB.body.pid).not.toBe(signIn.body.pid);
    });

    it('makes a sign-out on A visible to B at once', async () => {
      const { cookie } = await call(a!, 'POST', '/sign-in/bob');
      expect((await call(b!, 'GET', '/me', cookie)).body.user).toBe('bob');
      await call(a!, 'POST', '/sign-out', cookie);
      expect((await call(b!, 'GET', '/me', cookie)).body.user).toBeNull();
    });

    it('ends on A every session of the user when B signs out everywhere', async () => {
      const user = `carol-${randomBytes(4).toString('hex')}`;
      const laptop = (await call(a!, 'POST', `/sign-in/${user}`)).cookie;
      const phone = (await call(a!, 'POST', `/sign-in/${user}`)).cookie;
      const tablet = (await call(b!, 'POST', `/sign-in/${user}`)).cookie;

      const everywhere = await call(b!, 'POST', '/sign-out-everywhere', tablet);
      expect(everywhere.body.ended).toBe(3);
      for (const cookie of [laptop, phone, tablet]) {
        expect((await call(a!, 'GET', '/me', cookie)).body.user).toBeNull();
      }
    });
  });
}

const [redis, postgres] = await Promise.all([reachRedis(), reachPostgres()]);

if (!redis.ok) {
  serverUnavailable('two processes on Redis', redis.reason);
} else {
  const prefix = `tessera-mp-${randomBytes(6).toString('hex')}:`;
  const client = redis.client;
  sharedStoreSuite('Redis', () => ({ STORE: 'redis', REDIS_URL, PREFIX: prefix }), async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
    await client.close();
  });
}

if (!postgres.ok) {
  serverUnavailable('two processes on PostgreSQL', postgres.reason);
} else {
  const table = `tessera_mp_${randomBytes(6).toString('hex')}`;
  const pool = postgres.client;
  sharedStoreSuite('PostgreSQL', () => ({ STORE: 'postgres', DATABASE_URL, TABLE: table }), async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.end();
  });
}
