/**
 * Real servers for the store tests: where they are (`REDIS_URL`, `DATABASE_URL`), whether they
 * answer, and what a test file does when one does not. Locally an unreachable server skips the
 * file's tests with the reason; on CI (`CI=true`) it fails them, so a broken service container
 * never passes as "all green".
 *
 * @example
 * const redis = await reachRedis();
 * if (!redis.ok) serverUnavailable('Redis', redis.reason);
 * else describe('on Redis', () => { ... redis.client ... });
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import pg from 'pg';
import { createClient } from 'redis';
import { unavailable } from './unavailable.js';

/** The Redis server the tests use. @default redis://127.0.0.1:6379 */
export const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
/** The PostgreSQL database the tests use. @default postgres://postgres@127.0.0.1:5432/test */
export const DATABASE_URL = process.env['DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
export { IN_CI } from './unavailable.js';

/** How long a reachability probe may take, in ms. */
const PROBE_TIMEOUT_MS = 3_000;

/** A connected node-redis v5 client. */
export type RedisClient = ReturnType<typeof createClient>;

/** A server that answered (with its client), or why it did not. */
export type Reach<T> = { ok: true; client: T } | { ok: false; reason: string };

/** A URL fit for a test name or log: any password is masked. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable URL>';
  }
}

/** A short, password-free description of a connection error, for skip reasons. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message || error.name;
  }
  return String(error);
}

/** Reject after `ms` unless `promise` settles first. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connect to Redis at {@link REDIS_URL} and `PING` it. The client does not reconnect while
 * probing; once connected it keeps node-redis's default reconnect strategy. Errors it emits later
 * are logged, not thrown (an unhandled `error` event would crash the worker).
 */
export async function reachRedis(url = REDIS_URL): Promise<Reach<RedisClient>> {
  let connected = false;
  const client = createClient({
    url,
    socket: {
      connectTimeout: PROBE_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => (connected && retries < 20 ? Math.min(retries * 50, 500) : false),
    },
  });
  client.on('error', (error: unknown) => {
    if (connected) console.warn(`Redis client error: ${describeError(error)}`);
  });
  try {
    await within(client.connect(), PROBE_TIMEOUT_MS, 'Redis');
    await within(client.ping(), PROBE_TIMEOUT_MS, 'Redis PING');
    connected = true;
    return { ok: true, client };
  } catch (error) {
    try {
      client.destroy();
    } catch {
      // Never connected: nothing to release.
    }
    return { ok: false, reason: `Redis at ${redactUrl(url)} is unreachable (${describeError(error)})` };
  }
}

/**
 * Open a `pg` pool on {@link DATABASE_URL} and run `SELECT 1` on it. Errors of idle clients are
 * logged, not thrown.
 */
export async function reachPostgres(url = DATABASE_URL): Promise<Reach<pg.Pool>> {
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS, max: 5 });
  pool.on('error', (error) => console.warn(`PostgreSQL pool error: ${describeError(error)}`));
  try {
    await within(pool.query('SELECT 1'), PROBE_TIMEOUT_MS, 'PostgreSQL');
    return { ok: true, client: pool };
  } catch (error) {
    await pool.end().catch(() => undefined);
    return { ok: false, reason: `PostgreSQL at ${redactUrl(url)} is unreachable (${describeError(error)})` };
  }
}

/** Stand in for the tests that need an unreachable server (see `unavailable.ts`). */
export const serverUnavailable = unavailable;

/**
 * Create connect-pg-simple's table from the `table.sql` it ships, named `table` (a plain
 * identifier). Its constraint and index names (`session_pkey`, `IDX_session_expire`) are
 * schema-wide, so they are renamed with the table: otherwise a second such table in one schema
 * fails with "relation already exists" (as `createTableIfMissing` with a `tableName` does).
 */
export async function createSessionTable(pool: pg.Pool, table: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(table)) throw new Error(`unsafe table name: ${table}`);
  const sqlPath = createRequire(import.meta.url).resolve('connect-pg-simple/table.sql');
  const sql = (await readFile(sqlPath, 'utf8'))
    .replaceAll('"session_pkey"', `"${table}_pkey"`)
    .replaceAll('"IDX_session_expire"', `"IDX_${table}_expire"`)
    .replaceAll('"session"', `"${table}"`);
  await pool.query(sql);
}
