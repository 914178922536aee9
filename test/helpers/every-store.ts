/**
 * Every store kind tessera ships, on its real server, behind one interface, for the tests that
 * must hold on each of them (lifecycle, concurrency, corruption, limits): memory, SQLite,
 * Redis, Redis Cluster, PostgreSQL, MariaDB, and an express-session store (connect-redis)
 * through the legacy adapter.
 *
 * A server that does not answer skips its kind with the reason, except under `CI=true`, where
 * {@link storeKinds} throws (CI starts every server, so a missing one is a broken pipeline).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { LegacyStore } from '../../src/store/legacy.js';
import { MemoryStore } from '../../src/store/memory.js';
import { MysqlStore } from '../../src/store/mysql.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { RedisStore } from '../../src/store/redis.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { clusterProblem, connectCluster, connectStandalone, deleteKeys, REDIS_CLUSTER_NODES, standaloneAddress, standaloneProblem, uniquePrefix } from './redis.js';
import { mysqlUrl, postgresUrl, probeMysql, probePostgres, uniqueTableName } from './sql-servers.js';

/** One open store and what a test can do to it besides the Store contract. */
export interface OpenStore {
  store: Store;
  /**
   * Put something under `key` that is not a record the store could have written (invalid JSON,
   * or a value of the wrong kind), the way a bug, a manual edit or a foreign writer would.
   */
  corrupt(key: string): Promise<void>;
  /**
   * Open a second handle on the same sessions, the way a second app process sees them: its own
   * client, pool or database connection on the same prefix, table or file (memory: the same
   * store object, since a MemoryStore cannot be reached otherwise). Close every second handle
   * before {@link OpenStore.close}, which still removes what the kind created.
   */
  openShared?(): Promise<SharedStore>;
  /** Release everything the kind opened (clients, pools, files, keys). */
  close(): Promise<void>;
}

/** A second handle from {@link OpenStore.openShared}. */
export interface SharedStore {
  store: Store;
  /** Release what this handle opened (nothing of the first handle's, and no data). */
  close(): Promise<void>;
}

/** A store kind: a name, and a way to open a fresh store of it on a given clock. */
export interface StoreKind {
  name: string;
  /**
   * Whether the store reads time only from `now` (memory, SQL). Redis expires keys on its own
   * clock, so tests that jump the clock by hours must keep the Redis TTL in mind.
   */
  fakeClock: boolean;
  open(now: () => number): Promise<OpenStore>;
}

/** What {@link storeKinds} found: kinds to run, and kinds skipped with the reason. */
export interface StoreKinds {
  kinds: StoreKind[];
  skipped: Array<{ name: string; reason: string }>;
}

const memory: StoreKind = {
  name: 'memory',
  fakeClock: true,
  async open(now) {
    const store = new MemoryStore({ now, sweepIntervalMs: 0 });
    return {
      store,
      corrupt: () => Promise.reject(new Error('a MemoryStore holds only what it encoded itself')),
      openShared: async () => ({ store, close: async () => undefined }),
      close: () => store.close(),
    };
  },
};

const sqlite: StoreKind = {
  name: 'sqlite',
  fakeClock: true,
  async open(now) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-every-store-'));
    const database = join(dir, 'sessions.db');
    const store = new SqliteStore({ database, now, purgeIntervalMs: 0 });
    return {
      store,
      async corrupt(key) {
        await store.get(key); // creates the table if needed
        store.database.prepare(`UPDATE tessera_sessions SET record = ? WHERE key = ?`).run('{"version":', key);
      },
      async openShared() {
        await store.get('every-store-shared'); // the first handle creates the file and table
        const second = new SqliteStore({ database, now, purgeIntervalMs: 0 });
        return { store: second, close: () => second.close() };
      },
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const redis: StoreKind = {
  name: 'redis',
  fakeClock: false,
  async open(now) {
    const client = await connectStandalone('node-redis');
    const prefix = uniquePrefix('every-store');
    const store = new RedisStore({ client: client.client as never, prefix, now });
    return {
      store,
      // A plain string where a session hash belongs.
      corrupt: async (key) => void (await client.command(['SET', store.sessionKey(key), 'not a session'])),
      async openShared() {
        const other = await connectStandalone('node-redis');
        const second = new RedisStore({ client: other.client as never, prefix, now });
        return {
          store: second,
          async close() {
            await second.close();
            await other.close();
          },
        };
      },
      async close() {
        await store.close();
        await deleteKeys([standaloneAddress()], prefix);
        await client.close();
      },
    };
  },
};

const redisCluster: StoreKind = {
  name: 'redis-cluster',
  fakeClock: false,
  async open(now) {
    const client = await connectCluster('ioredis');
    const prefix = uniquePrefix('every-store-cluster');
    const store = new RedisStore({ client: client.client as never, prefix, now });
    return {
      store,
      corrupt: async (key) => void (await client.command(['HSET', store.sessionKey(key), 'r', '{"version":'], store.sessionKey(key))),
      async openShared() {
        const other = await connectCluster('ioredis');
        const second = new RedisStore({ client: other.client as never, prefix, now });
        return {
          store: second,
          async close() {
            await second.close();
            await other.close();
          },
        };
      },
      async close() {
        await store.close();
        await deleteKeys(REDIS_CLUSTER_NODES, prefix);
        await client.close();
      },
    };
  },
};

const postgres: StoreKind = {
  name: 'postgres',
  fakeClock: true,
  async open(now) {
    const tableName = uniqueTableName('every_store');
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
    pool.on('error', () => undefined);
    const store = new PostgresStore({ pool, tableName, now, purgeIntervalMs: 0 });
    return {
      store,
      async corrupt(key) {
        await store.get(key);
        await pool.query(`UPDATE "${tableName}" SET record = $1 WHERE key = $2`, ['{"version":', key]);
      },
      async openShared() {
        const otherPool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
        otherPool.on('error', () => undefined);
        const second = new PostgresStore({ pool: otherPool, tableName, now, purgeIntervalMs: 0 });
        return {
          store: second,
          async close() {
            await second.close();
            await otherPool.end();
          },
        };
      },
      async close() {
        await store.close();
        await pool.query(`DROP TABLE IF EXISTS "${tableName}"`);
        await pool.end();
      },
    };
  },
};

const mariadb: StoreKind = {
  name: 'mariadb',
  fakeClock: true,
  async open(now) {
    const tableName = uniqueTableName('every_store');
    const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 10 });
    const store = new MysqlStore({ pool, tableName, now, purgeIntervalMs: 0 });
    return {
      store,
      async corrupt(key) {
        await store.get(key);
        await pool.query(`UPDATE \`${tableName}\` SET record = ? WHERE \`key\` = ?`, ['{"version":', key]);
      },
      async openShared() {
        const otherPool = mysql.createPool({ uri: mysqlUrl, connectionLimit: 10 });
        const second = new MysqlStore({ pool: otherPool, tableName, now, purgeIntervalMs: 0 });
        return {
          store: second,
          async close() {
            await second.close();
            await otherPool.end();
          },
        };
      },
      async close() {
        await store.close();
        await pool.query(`DROP TABLE IF EXISTS \`${tableName}\``);
        await pool.end();
      },
    };
  },
};

const legacyConnectRedis: StoreKind = {
  name: 'connect-redis (legacy)',
  fakeClock: false,
  async open(now) {
    const client = await connectStandalone('node-redis');
    const prefix = uniquePrefix('every-store-legacy');
    const wrapped = new ConnectRedisStore({ client: client.client as never, prefix });
    const store = new LegacyStore(wrapped, { now });
    return {
      store,
      // connect-redis JSON.parses what it reads: text that is not JSON.
      corrupt: async (key) => void (await client.command(['SET', `${prefix}${key}`, '{"cookie":'])),
      // A second wrapper on its own client: its compare-and-set queue is its own, as in another
      // process (the README: atomic within one process only).
      async openShared() {
        const other = await connectStandalone('node-redis');
        const second = new LegacyStore(new ConnectRedisStore({ client: other.client as never, prefix }), { now });
        return {
          store: second,
          async close() {
            await second.close();
            await other.close();
          },
        };
      },
      async close() {
        await store.close();
        await deleteKeys([standaloneAddress()], prefix);
        await client.close();
      },
    };
  },
};

/**
 * The store kinds whose servers answer. Under `CI=true` a kind whose server is missing throws,
 * so CI never passes a test that did not run.
 */
export async function storeKinds(options: { include?: readonly string[] } = {}): Promise<StoreKinds> {
  const candidates: Array<[StoreKind, () => Promise<string | undefined>]> = [
    [memory, async () => undefined],
    [sqlite, async () => undefined],
    [redis, standaloneProblem],
    [redisCluster, clusterProblem],
    [postgres, async () => (await probePostgres()).skip],
    [mariadb, async () => (await probeMysql()).skip],
    [legacyConnectRedis, standaloneProblem],
  ];
  const result: StoreKinds = { kinds: [], skipped: [] };
  for (const [kind, problemOf] of candidates) {
    if (options.include !== undefined && !options.include.includes(kind.name)) continue;
    const problem = await problemOf();
    if (problem === undefined) {
      result.kinds.push(kind);
      continue;
    }
    if (process.env['CI'] === 'true') throw new Error(`${kind.name}: ${problem} (CI=true: a missing server fails the run)`);
    result.skipped.push({ name: kind.name, reason: problem });
  }
  return result;
}
