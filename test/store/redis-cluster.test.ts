/**
 * RedisStore on a 3-master Redis Cluster (REDIS_CLUSTER_NODES, started by
 * `scripts/redis-cluster.sh start`), with node-redis v5 `createCluster` and ioredis `Cluster`:
 * the conformance suite, and a user whose sessions and index live on different nodes.
 */
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis.js';
import type { SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { cookieHeader, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, listen, type WhoAmI } from '../helpers/express-app.js';
import {
  REDIS_CLUSTER_NODES,
  clusterProblem,
  connectCluster,
  deleteKeys,
  describeWithServer,
  uniquePrefix,
  type Library,
  type TestClient,
} from '../helpers/redis.js';

const LIBRARIES: Library[] = ['node-redis', 'ioredis'];
const HOUR = 3_600_000;

const clients = new Map<Library, Promise<TestClient>>();
const prefixes: string[] = [];
function clientOf(library: Library): Promise<TestClient> {
  let client = clients.get(library);
  if (!client) clients.set(library, (client = connectCluster(library)));
  return client;
}
function prefixFor(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return prefix;
}
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(REDIS_CLUSTER_NODES, prefix);
  for (const client of clients.values()) await (await client).close();
});

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    version: 1,
    createdAt: now,
    authenticatedAt: null,
    lastSeenAt: now,
    expiresAt: now + HOUR,
    userId: null,
    data: {},
    meta: {},
    ...overrides,
  };
}

describeWithServer('RedisStore on a Redis Cluster', await clusterProblem(), () => {
  for (const library of LIBRARIES) {
    const prefix = prefixFor(`cluster-conformance-${library}`);
    runStoreConformance(
      `RedisStore (${library} cluster)`,
      async () => ({ store: new RedisStore({ client: (await clientOf(library)).client, prefix }) }),
      { framework: { describe, it }, fakeClock: false, realTtlMs: 200 },
    );
  }

  describe.each(LIBRARIES)('RedisStore with a %s cluster', (library) => {
    it("lists, touches and deletes a user's sessions spread over every master, with the index on its own slot", async () => {
      const t = await clientOf(library);
      const store = new RedisStore({ client: t.client, prefix: prefixFor('spread') });
      const slotOf = async (key: string) => Number(await t.command(['CLUSTER', 'KEYSLOT', key], key));
      const keys = Array.from({ length: 12 }, (_, i) => `session-${i}`);
      for (const key of keys) await store.set(key, record({ userId: 'alice', data: { key } }));

      const owners = await slotOwners(t);
      const masters = new Set(await Promise.all(keys.map(async (key) => owners(await slotOf(store.sessionKey(key))))));
      expect(masters.size).toBeGreaterThanOrEqual(Math.min(3, REDIS_CLUSTER_NODES.length));
      const indexSlot = await slotOf(store.userKey('alice'));
      const sessionSlots = await Promise.all(keys.map((key) => slotOf(store.sessionKey(key))));
      expect(sessionSlots.some((slot) => slot !== indexSlot)).toBe(true);

      expect((await store.listByUser('alice')).map((e) => e.key).sort()).toEqual([...keys].sort());
      for (const key of keys) expect(await store.touch(key, Date.now(), Date.now() + 2 * HOUR)).toBe(true);
      expect(await store.deleteByUser('alice', { exceptKey: 'session-0' })).toBe(11);
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['session-0']);
      for (const key of keys.slice(1)) expect(await store.get(key)).toBeNull();
    });

    it('keeps every key when 20 parallel requests of one session each set a different key', async () => {
      const t = await clientOf(library);
      const store = new RedisStore({ client: t.client, prefix: prefixFor('http') });
      const { app } = buildApp({ store });
      const server = await listen(app);
      try {
        const created = await request(server.server).post('/set/init/yes').expect(200);
        const cookie = cookieHeader(theSetCookie(created, DEFAULT_NAME));
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            request(server.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
          ),
        );
        const read = (await request(server.server).get('/whoami').set('Cookie', cookie).expect(200)).body as WhoAmI;
        const expected = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`]));
        expect(read.data).toEqual({ init: 'yes', ...expected });
      } finally {
        await server.close();
      }
    });
  });
});

/** Which master (`host:port`) owns a slot, from `CLUSTER SLOTS`. */
async function slotOwners(t: TestClient): Promise<(slot: number) => string> {
  const ranges = (await t.command(['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, ...unknown[]]]>;
  return (slot) => {
    const range = ranges.find(([start, end]) => start <= slot && slot <= end);
    return range ? `${range[2][0]}:${range[2][1]}` : 'none';
  };
}
