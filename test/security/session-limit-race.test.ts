/**
 * `maxSessionsPerUser` holds under races, on every store: ten parallel sign-ins of one user
 * with a limit of 2 leave at most 2 live sessions (`'reject'`: the others are refused with
 * `SESSION_LIMIT`; `'evict-oldest'`: exactly 2 are left), through one app instance and through
 * two instances on one store (each its own client, as two processes). Every sign-in has passed
 * the early check before any of them stores its session, so only the check under the user's
 * lock keeps the count. Real HTTP, real servers on loopback.
 */
import { Agent, request as httpRequest } from 'node:http';
import type express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barrier, buildApp, listen, sessionOf, type TestApp } from '../helpers/express-app.js';
import { storeKinds, type OpenStore, type SharedStore } from '../helpers/every-store.js';

const PARALLEL = 10;
const LIMIT = 2;
const TIMEOUT = 60_000;

const { kinds, skipped } = await storeKinds({ include: ['memory', 'sqlite', 'redis', 'redis-cluster', 'postgres', 'mariadb'] });

interface Reply {
  status: number;
  body: string;
  cookie: string | undefined;
}

const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL * 2 });
afterAll(() => agent.destroy());

function post(url: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method: 'POST', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const line = (res.headers['set-cookie'] ?? []).find((l) => l.startsWith('connect.sid=') && !l.startsWith('connect.sid=;'));
        resolve({ status: res.statusCode ?? 0, body, cookie: line?.split(';')[0] });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(kinds)('$name: parallel sign-ins against maxSessionsPerUser', (kind) => {
  let opened: OpenStore;
  let shared: SharedStore | undefined;
  const apps: Array<{ t: TestApp; http: Awaited<ReturnType<typeof listen>> }> = [];

  beforeAll(async () => {
    opened = await kind.open(Date.now);
    shared = await opened.openShared?.();
  }, 60_000);

  afterAll(async () => {
    for (const { t, http } of apps) {
      await http.close();
      await t.middleware.engine.close();
    }
    await shared?.close();
    await opened?.close();
  });

  /** An app instance whose `/race/:user` signs in, then waits until all `parties` have. */
  async function instance(policy: 'reject' | 'evict-oldest', onShared: boolean, parties: () => Promise<void>) {
    const store = onShared && shared !== undefined ? shared.store : opened.store;
    const t = buildApp({ store, maxSessionsPerUser: LIMIT, sessionLimitPolicy: policy, cookie: { secure: false } });
    t.app.post('/race/:user', async (req, res, next) => {
      try {
        await sessionOf(req).signIn(String(req.params['user']));
      } catch (error) {
        await parties();
        return next(error);
      }
      await parties();
      res.send('signed in');
    });
    t.app.use((error: { status?: number; code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(error.status ?? 500).send(error.code ?? 'error');
    });
    const http = await listen(t.app);
    apps.push({ t, http });
    return { t, url: http.url };
  }

  for (const policy of ['reject', 'evict-oldest'] as const) {
    for (const across of [false, true]) {
      const how = across ? 'through two app instances on one store' : 'through one app instance';
      it(
        `${policy}: ${PARALLEL} parallel sign-ins ${how} leave ${policy === 'reject' ? 'at most' : 'exactly'} ${LIMIT} live sessions`,
        async () => {
          if (across) expect(shared, `${kind.name} must open a second handle (openShared)`).toBeDefined();
          const user = `racer-${policy}-${across ? 'two' : 'one'}`;
          const parties = barrier(PARALLEL);
          const first = await instance(policy, false, parties);
          const second = across ? await instance(policy, true, parties) : first;
          const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post((i % 2 === 0 ? first : second).url, `/race/${user}`)));

          const live = await first.t.middleware.engine.listUserSessions(user);
          expect(replies.every((r) => r.status === 200 || (policy === 'reject' && r.status === 403 && r.body === 'SESSION_LIMIT')), JSON.stringify(replies)).toBe(true);
          const signedIn = replies.filter((r) => r.status === 200);
          if (policy === 'reject') {
            expect(live.length).toBeLessThanOrEqual(LIMIT);
            expect(live.length).toBeGreaterThanOrEqual(1);
            // Whoever was told "signed in" has a live session; whoever was refused has none.
            expect(signedIn.length).toBe(live.length);
            for (const reply of replies.filter((r) => r.status === 403)) expect(reply.cookie).toBeUndefined();
          } else {
            expect(signedIn.length).toBe(PARALLEL);
            expect(live.length).toBe(LIMIT);
          }
        },
        TIMEOUT,
      );
    }
  }
});

describe.skipIf(skipped.length === 0)('store kinds without a server here', () => {
  it.each(skipped)('$name [skipped: $reason]', () => undefined);
});
