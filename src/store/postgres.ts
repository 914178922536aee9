/**
 * A {@link Store} on PostgreSQL through `pg` (an optional peer dependency, loaded only when the
 * store opens its own pool from a connection string). The SQL lives in the shared body
 * (`./sql.js`); this file is the driver shim.
 *
 * The record column is `TEXT`, not `JSONB`: the store never queries inside the record, `TEXT`
 * keeps the JSON exactly as written (key order included; `JSONB` reorders keys and rejects the
 * `\u0000` escape that session data may contain) and costs no parse on write. Times are
 * `BIGINT` milliseconds, which `pg` returns as strings; the body turns them into numbers.
 * @module
 */
import { createRequire } from 'node:module';
import { TesseraError } from '../core/errors.js';
import { SqlStore, type SqlDriver, type SqlRow, type SqlStoreOptions } from './sql.js';

/** The part of a `pg` `Pool` or `Client` the store uses: `query(text, values)`. */
export interface PgQueryable {
  /** Run `text` with `$1, $2, ...` bound to `values`; `rowCount` is the rows changed or returned. */
  query(text: string, values: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Options passed to `new pg.Pool()` when the store opens its own pool (see `pg`'s `PoolConfig`). */
export interface PgPoolOptions {
  /** Most connections open at once. @default 10 */
  max?: number;
  /** How long opening a connection may take before it fails, in ms. @default 5_000 */
  connectionTimeoutMillis?: number;
  /** How long an unused connection stays open, in ms. @default 30_000 */
  idleTimeoutMillis?: number;
  /** Any other `pg.PoolConfig` option (`ssl`, `application_name`, ...), passed as is. */
  [option: string]: unknown;
}

/** Options of {@link PostgresStore}: exactly one of `pool` and `connectionString`. */
export interface PostgresStoreOptions extends SqlStoreOptions {
  /**
   * A `pg` `Pool` (recommended) or `Client` you own: used as is, never closed by
   * {@link PostgresStore.close}. A `Client` never reconnects after losing its connection, and
   * `pg` crashes the process on an `'error'` event without a listener: attach one
   * (`pool.on('error', ...)`), as `pg`'s documentation asks.
   */
  pool?: PgQueryable;
  /**
   * A connection URL (`postgres://user:password@host:5432/database`): the store loads `pg`,
   * opens a pool (with an `'error'` listener, so a server restart never crashes the process)
   * and closes it in {@link PostgresStore.close}.
   */
  connectionString?: string;
  /** Pool settings used with `connectionString`. */
  poolOptions?: PgPoolOptions;
}

/** The part of a pool the store opened itself that it needs. */
interface OwnedPool extends PgQueryable {
  on(event: 'error', listener: (error: Error) => void): unknown;
  end(): Promise<void>;
}

type PgModule = { Pool: new (config: Record<string, unknown>) => OwnedPool };

/**
 * A {@link Store} on PostgreSQL 9.5 or later. The table and its indexes (on `user_id` and
 * `expires_at`) are created on first use unless `createTable: false`; `docs/sql-migration.md`
 * gives the statements for a migration. The reads and the data deltas made in one turn of the
 * event loop are sent as one statement each (see `SqlStore`).
 * @example
 * const store = new PostgresStore({ connectionString: process.env.DATABASE_URL! });
 * @example
 * const store = new PostgresStore({ pool: myPgPool, tableName: 'app_sessions' });
 */
export class PostgresStore extends SqlStore {
  constructor(options: PostgresStoreOptions) {
    const { pool, connectionString, poolOptions } = options ?? {};
    if ((pool === undefined) === (connectionString === undefined)) {
      throw new TesseraError('INVALID_OPTION', 'PostgresStore: pass exactly one of `pool` and `connectionString`');
    }
    if (pool !== undefined && typeof (pool as Partial<PgQueryable> | null)?.query !== 'function') {
      throw new TesseraError('INVALID_OPTION', 'PostgresStore: `pool` must be a pg Pool or Client');
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new TesseraError('INVALID_OPTION', 'PostgresStore: `connectionString` must be a non-empty string');
    }
    const owned = pool === undefined ? openPool(connectionString ?? '', poolOptions) : undefined;
    try {
      super(postgresDriver(owned ?? (pool as PgQueryable), owned), options);
    } catch (err) {
      owned?.end().catch(() => undefined); // an invalid option must not leak the pool we opened
      throw err;
    }
  }
}

/** Open a pool with `pg`, loaded on demand. */
function openPool(connectionString: string, poolOptions: PgPoolOptions | undefined): OwnedPool {
  const { Pool } = loadPg();
  const pool = new Pool({
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...poolOptions,
    connectionString,
  });
  // `pg` emits 'error' on the pool when an idle connection dies (server restart, network cut);
  // without a listener Node would end the process. Callers see the outage on their next query,
  // which opens a fresh connection once the server is back.
  pool.on('error', () => undefined);
  return pool;
}

function loadPg(): PgModule {
  // Not `typeof require`: bundlers replace `require` in ESM output with a stub that throws.
  // tsup's shims give the CommonJS build an `import.meta.url`.
  const load = createRequire(import.meta.url);
  try {
    const mod = load('pg') as PgModule | { default: PgModule };
    return 'default' in mod ? mod.default : mod;
  } catch (err) {
    throw new TesseraError(
      'INVALID_OPTION',
      'PostgresStore needs the pg package to open a connection string: npm install pg (or pass a `pool`)',
      { cause: err },
    );
  }
}

/** The driver shim: `pg` binds `$1, $2, ...` (the body numbers the placeholders). */
function postgresDriver(client: PgQueryable, owned: OwnedPool | undefined): SqlDriver {
  return {
    dialect: 'postgres',
    query: async (sql, params) => (await client.query(sql, [...params])).rows as SqlRow[],
    execute: async (sql, params) => (await client.query(sql, [...params])).rowCount ?? 0,
    ...(owned && { close: () => owned.end() }),
  };
}
