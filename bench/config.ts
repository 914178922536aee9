/**
 * What the driver tells a benchmark server: which middleware, on which store. Shared by
 * `run.ts` and `server.ts`.
 * @module
 */

/** Whose session middleware the server runs; `bare` runs none (the ceiling). `fastify-session` is @fastify/session. */
export type Contender = 'bare' | 'tessera' | 'express-session' | 'fastify-session';

/** The web framework of a server: Express (`server.ts`), or Fastify and Hono (`framework-server.ts`). */
export type Framework = 'express' | 'fastify' | 'hono';

/** Where sessions live. */
export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres' | 'mysql';

/** Every store kind, in the order the report lists them. */
export const STORE_KINDS: readonly StoreKind[] = ['memory', 'sqlite', 'redis', 'postgres', 'mysql'];

/** One benchmark server's configuration, passed in the `BENCH_CONFIG` environment variable. */
export interface ServerConfig {
  contender: Contender;
  store: StoreKind;
  /** Redis key prefix or PostgreSQL table name part, unique per server, removed afterwards. */
  namespace: string;
  /** SQLite database file (sqlite only). */
  sqliteFile?: string;
  /** Redis URL (redis only). */
  redisUrl?: string;
  /** PostgreSQL URL (postgres only). */
  postgresUrl?: string;
  /** MySQL or MariaDB URL (mysql only). */
  mysqlUrl?: string;
  /**
   * tessera only: run the Express drop-in on the express-session store of this kind (the
   * legacy path a user gets with the one-line switch, before moving to a tessera store).
   */
  legacy?: boolean;
  /** The framework; absent: Express. */
  framework?: Framework;
}

/** The secret both middlewares sign with (tessera needs 32 bytes; express-session takes any). */
export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Redis server of the Redis scenarios. @default redis://127.0.0.1:6379 */
export const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
/** PostgreSQL database of the PostgreSQL scenarios (the test database). */
export const POSTGRES_URL = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
/** MySQL or MariaDB database of the MySQL scenarios (the test database). */
export const MYSQL_URL = process.env['MYSQL_URL'] || 'mysql://root@127.0.0.1:3306/test';

/** Parse and check the `BENCH_CONFIG` JSON. */
export function parseConfig(text: string | undefined): ServerConfig {
  if (text === undefined) throw new Error('BENCH_CONFIG is not set: start this server through bench/run.ts');
  const config = JSON.parse(text) as ServerConfig;
  if (!['bare', 'tessera', 'express-session', 'fastify-session'].includes(config.contender)) throw new Error(`unknown contender ${config.contender}`);
  if (!STORE_KINDS.includes(config.store)) throw new Error(`unknown store ${config.store}`);
  if (!/^[a-z0-9_]{1,40}$/.test(config.namespace)) throw new Error(`bad namespace ${config.namespace}`);
  return config;
}

/** The Redis key prefix of a server. */
export const redisPrefix = (namespace: string): string => `tessera-bench:${namespace}:`;
/** The PostgreSQL (or MySQL) table of a server. */
export const postgresTable = (namespace: string): string => `bench_${namespace}`;
