/**
 * A {@link Store} on MySQL 5.7+ or MariaDB 10.2+ through `mysql2` (an optional peer dependency,
 * loaded only when the store opens its own pool from a URI). The SQL lives in the shared body
 * (`./sql.js`); this file is the driver shim.
 *
 * Compare-and-set and `touch` read the number of rows an `UPDATE` matched, so connections must
 * report found rows, not changed rows (client flag `FOUND_ROWS`, on by default in `mysql2`): an
 * `UPDATE` that writes the values a row already has must still count. The store refuses a
 * `mysql2` pool or connection configured with `flags: '-FOUND_ROWS'`.
 * @module
 */
import { createRequire } from 'node:module';
import { TesseraError } from '../core/errors.js';
import { SqlStore, type SqlDriver, type SqlRow, type SqlStoreOptions, type SqlValue } from './sql.js';

/**
 * The part of a `mysql2/promise` `Pool` or `Connection` the store uses. A callback-style
 * `mysql2` pool (with a `promise()` method) is accepted too.
 */
export interface MysqlQueryable {
  /**
   * Run `sql`; resolve to `[rows or result, fields]`. The store writes its values into `sql`
   * itself and passes `values` empty.
   */
  query(sql: string, values: unknown[]): Promise<[unknown, unknown]>;
}

/** Options passed to `mysql2`'s `createPool()` when the store opens its own pool. */
export interface MysqlPoolOptions {
  /** Most connections open at once. @default 10 */
  connectionLimit?: number;
  /** How long opening a connection may take before it fails, in ms. @default 5_000 */
  connectTimeout?: number;
  /**
   * Whether `mysql2` captures the caller's stack for every query, to put it on the query's
   * error. Off by default: in a CPU profile of the benchmark's write scenario the capture took
   * about 3% of the server's time, and the store wraps every error as `STORE_UNAVAILABLE` with
   * the driver's error as its `cause`, so the captured stack would only point into the store.
   * @default false
   */
  trace?: boolean;
  /** Any other `mysql2` pool option (`ssl`, `timezone`, ...), passed as is. */
  [option: string]: unknown;
}

/** Options of {@link MysqlStore}: exactly one of `pool` and `uri`. */
export interface MysqlStoreOptions extends SqlStoreOptions {
  /**
   * A `mysql2/promise` `Pool` (recommended) or `Connection` you own: used as is, never closed by
   * {@link MysqlStore.close}. It must report found rows (`FOUND_ROWS`, the `mysql2` default):
   * the store checks a `mysql2` pool or connection, but cannot look inside a wrapper of one.
   */
  pool?: MysqlQueryable | { promise(): MysqlQueryable };
  /**
   * A connection URI (`mysql://user:password@host:3306/database`): the store loads `mysql2`,
   * opens a pool and closes it in {@link MysqlStore.close}.
   */
  uri?: string;
  /** Pool settings used with `uri`. */
  poolOptions?: MysqlPoolOptions;
}

/** The part of a pool the store opened itself that it needs. */
interface OwnedPool extends MysqlQueryable {
  end(): Promise<void>;
}

type Mysql2Promise = { createPool(config: Record<string, unknown>): OwnedPool };

/** `CLIENT_FOUND_ROWS` of the MySQL client/server protocol. */
const FOUND_ROWS = 0x2;
/** `ER_DUP_ENTRY`: an `INSERT` hit an existing primary key. */
const ER_DUP_ENTRY = 1062;

/**
 * A {@link Store} on MySQL or MariaDB. The InnoDB table and its indexes (on `user_id` and
 * `expires_at`) are created on first use unless `createTable: false`; `docs/sql-migration.md`
 * gives the statements for a migration. Keys and user ids are compared byte for byte
 * (`VARBINARY(255)`: no case folding, no trailing-space padding); user ids longer than 255 bytes
 * are refused by a server in strict mode (the default) and truncated by one that is not.
 * @example
 * const store = new MysqlStore({ uri: process.env.MYSQL_URL! });
 * @example
 * const store = new MysqlStore({ pool: mysql.createPool({ host, user, password, database }) });
 */
export class MysqlStore extends SqlStore {
  constructor(options: MysqlStoreOptions) {
    const { pool, uri, poolOptions } = options ?? {};
    if ((pool === undefined) === (uri === undefined)) {
      throw new TesseraError('INVALID_OPTION', 'MysqlStore: pass exactly one of `pool` and `uri`');
    }
    if (uri !== undefined && (typeof uri !== 'string' || uri === '')) {
      throw new TesseraError('INVALID_OPTION', 'MysqlStore: `uri` must be a non-empty string');
    }
    const client = pool === undefined ? undefined : promiseClient(pool);
    const owned = client === undefined ? openPool(uri ?? '', poolOptions) : undefined;
    try {
      if (reportsFoundRows(owned ?? client) === false) {
        throw new TesseraError(
          'INVALID_OPTION',
          'MysqlStore: the mysql2 pool must report found rows; remove "-FOUND_ROWS" from its `flags`',
        );
      }
      super(mysqlDriver(owned ?? (client as MysqlQueryable), owned), options);
    } catch (err) {
      owned?.end().catch(() => undefined); // an invalid option must not leak the pool we opened
      throw err;
    }
  }
}

/** The promise API of what the user passed: a promise pool as is, a callback pool's `promise()`. */
function promiseClient(pool: NonNullable<MysqlStoreOptions['pool']>): MysqlQueryable {
  const candidate = pool as Partial<MysqlQueryable & { promise(): MysqlQueryable }> | null;
  if (typeof candidate?.promise === 'function') return candidate.promise();
  if (typeof candidate?.query === 'function') return candidate as MysqlQueryable;
  throw new TesseraError('INVALID_OPTION', 'MysqlStore: `pool` must be a mysql2 Pool or Connection');
}

/**
 * Whether `mysql2` connections of this pool or connection send `CLIENT_FOUND_ROWS`, read from its
 * configuration; `undefined` when the object is not a `mysql2` one we can inspect.
 */
function reportsFoundRows(client: unknown): boolean | undefined {
  type Config = { clientFlags?: unknown; connectionConfig?: { clientFlags?: unknown } };
  const c = client as { pool?: { config?: Config }; connection?: { config?: Config } } | undefined;
  const flags =
    c?.pool?.config?.connectionConfig?.clientFlags ?? // mysql2/promise Pool
    c?.connection?.config?.clientFlags; // mysql2/promise Connection
  return typeof flags === 'number' ? (flags & FOUND_ROWS) !== 0 : undefined;
}

/** Open a pool with `mysql2/promise`, loaded on demand. */
function openPool(uri: string, poolOptions: MysqlPoolOptions | undefined): OwnedPool {
  const { createPool } = loadMysql2();
  return createPool({ connectionLimit: 10, connectTimeout: 5_000, trace: false, ...poolOptions, uri });
}

function loadMysql2(): Mysql2Promise {
  // Not `typeof require`: bundlers replace `require` in ESM output with a stub that throws.
  // tsup's shims give the CommonJS build an `import.meta.url`.
  const load = createRequire(import.meta.url);
  try {
    const mod = load('mysql2/promise') as Mysql2Promise | { default: Mysql2Promise };
    return 'default' in mod ? mod.default : mod;
  } catch (err) {
    throw new TesseraError(
      'INVALID_OPTION',
      'MysqlStore needs the mysql2 package to open a URI: npm install mysql2 (or pass a `pool`)',
      { cause: err },
    );
  }
}

/**
 * The driver shim. Statements go through `query` (the text protocol), which needs no
 * per-connection prepared statement cache and accepts `LIMIT ?`, with the values written into
 * the SQL by {@link inlineValues}, not escaped by `mysql2`. Keys come back as `Buffer`s
 * (`VARBINARY`) and are decoded as UTF-8.
 */
function mysqlDriver(client: MysqlQueryable, owned: OwnedPool | undefined): SqlDriver {
  return {
    dialect: 'mysql',
    query: async (sql, params) => {
      const [rows] = await client.query(inlineValues(sql, params), []);
      // An UPDATE answers a result header: its counts are the one row (see SqlDriver.query).
      if (!Array.isArray(rows)) {
        const header = rows as { affectedRows?: unknown; insertId?: unknown };
        return [{ affectedRows: header.affectedRows ?? 0, insertId: header.insertId ?? 0 }];
      }
      return (rows as Array<Record<string, unknown>>).map(decodeBuffers);
    },
    execute: async (sql, params) => {
      try {
        const [result] = await client.query(inlineValues(sql, params), []);
        return Number((result as { affectedRows?: unknown }).affectedRows ?? 0);
      } catch (err) {
        // The create-if-absent INSERT of the shared body: a live row already holds the key.
        if ((err as { errno?: unknown } | null)?.errno === ER_DUP_ENTRY) return 0;
        throw err;
      }
    },
    ...(owned && { close: () => owned.end() }),
  };
}

/**
 * `sql` with each `?` replaced by its value as a literal that means the same under every SQL
 * mode: a string as `_utf8mb4 X'<hex of its UTF-8>'`, a number in decimal, `null` as `NULL`, an
 * array as a comma-separated list (for `IN (?)`).
 *
 * Not `mysql2`'s escaping: it escapes a quote with a backslash whatever the server's SQL mode,
 * and under `NO_BACKSLASH_ESCAPES` a backslash is an ordinary character, so a value with a quote
 * ends its string early. Session data then broke every write that held an apostrophe, and a
 * user id such as `' OR 1=1 -- ` listed or deleted every user's sessions. A hex literal has no
 * quote or backslash to misread. The statements hold no `?` other than their placeholders.
 */
function inlineValues(sql: string, params: readonly SqlValue[]): string {
  let next = 0;
  const text = sql.replace(/\?/g, () => {
    if (next >= params.length) throw new Error('MysqlStore: a statement has more placeholders than values');
    const value = params[next++]!;
    return Array.isArray(value) ? value.map(literal).join(', ') : literal(value as string | number | null);
  });
  if (next !== params.length) throw new Error('MysqlStore: a statement has fewer placeholders than values');
  return text;
}

function literal(value: string | number | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`MysqlStore: cannot bind the number ${value}`);
    return String(value);
  }
  return `_utf8mb4 X'${Buffer.from(value, 'utf8').toString('hex')}'`;
}

function decodeBuffers(row: Record<string, unknown>): SqlRow {
  const decoded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    decoded[name] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  }
  return decoded;
}
