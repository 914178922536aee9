/**
 * The Store conformance suite on a real connect-redis 9 store (node-redis v5 client) through
 * {@link LegacyStore}, the way `tessera/express` wraps an app's existing store.
 *
 * Clock: connect-redis turns `cookie.expires` into a Redis TTL in whole seconds from
 * `Date.now()`, and Redis expires keys on its own clock, so the store cannot run on the suite's
 * fake clock: the suite runs on the real one (short-lived records live `realTtlMs`, and
 * LegacyStore's millisecond expiry check hides them before Redis drops the key).
 */
import { randomBytes } from 'node:crypto';
import { RedisStore } from 'connect-redis';
import { afterAll, describe, expect, it } from 'vitest';
import { LegacyStore } from '../../src/store/legacy.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { LEGACY_STORE_SKIPS } from '../helpers/legacy-skips.js';
import { reachRedis, serverUnavailable, type RedisClient } from '../helpers/servers.js';

const TITLE = 'LegacyStore on connect-redis 9 (node-redis v5)';
const redis = await reachRedis();

/** Delete every key under `prefix` (SCAN, never KEYS). */
async function deletePrefix(client: RedisClient, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await client.del(keys);
  }
}

if (!redis.ok) {
  serverUnavailable(TITLE, redis.reason);
} else {
  const client = redis.client;
  // One prefix per run, so runs (and other users of the server) never collide; removed after.
  const prefix = `tessera-test:legacy-connect-redis:${randomBytes(6).toString('hex')}:`;
  afterAll(async () => {
    await deletePrefix(client, prefix);
    await client.close();
  });

  runStoreConformance(TITLE, () => ({ store: new LegacyStore(new RedisStore({ client, prefix })) }), {
    framework: { describe, it },
    fakeClock: false,
    skip: {
      ...LEGACY_STORE_SKIPS,
      'expiry.boundary':
        'needs the fake clock, and connect-redis sets TTLs in whole seconds from Date.now() (Redis expires on its own clock); ' +
        "LegacyStore's own millisecond check hides a record from its expiresAt on, but the key lives to the next second",
    },
  });

  describe(`${TITLE}: what lands in Redis`, () => {
    it('keeps each record under the prefixed hashed key with a TTL taken from expiresAt', async () => {
      const store = new LegacyStore(new RedisStore({ client, prefix }));
      const key = randomBytes(32).toString('base64url');
      const now = Date.now();
      await store.set(key, {
        version: 1,
        createdAt: now,
        authenticatedAt: null,
        lastSeenAt: now,
        expiresAt: now + 90_000,
        userId: null,
        data: { a: 1 },
        meta: {},
      });
      const ttl = await client.ttl(prefix + key);
      expect(ttl).toBeGreaterThan(85);
      expect(ttl).toBeLessThanOrEqual(90);
      const raw = JSON.parse((await client.get(prefix + key)) ?? 'null') as { tessera?: { data?: unknown } } | null;
      expect(raw?.tessera?.data).toEqual({ a: 1 });
      await store.delete(key);
      expect(await client.exists(prefix + key)).toBe(0);
    });

    it('keeps the per-user index as one entry that lives as long as the longest session', async () => {
      const store = new LegacyStore(new RedisStore({ client, prefix }));
      const userId = `user-${randomBytes(6).toString('hex')}`;
      const [shortKey, longKey] = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
      const now = Date.now();
      const base = { version: 1, createdAt: now, authenticatedAt: now, lastSeenAt: now, userId, data: {}, meta: {} };
      await store.set(shortKey, { ...base, expiresAt: now + 60_000 });
      await store.set(longKey, { ...base, expiresAt: now + 600_000 });
      const indexKey = `${prefix}tessera-user:${userId}`;
      expect(await client.ttl(indexKey)).toBeGreaterThan(590);
      expect(await store.deleteByUser(userId)).toBe(2);
      expect(await client.exists([indexKey, prefix + shortKey, prefix + longKey])).toBe(0);
    });
  });
}
