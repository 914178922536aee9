/**
 * The embedded default {@link Store}: SQLite through `better-sqlite3` (an optional peer
 * dependency, loaded only when this store opens a database itself) or a handle you pass in,
 * including Node's own `node:sqlite` `DatabaseSync` (Node 22.5+).
 *
 * SQLite runs in-process and these clients are synchronous: each store operation is one
 * statement (create-if-absent: two, whose interleaving is harmless; see `./sql.js`) that runs
 * to completion before any other JavaScript does, so concurrent callers never interleave a
 * read-check-write.
 * @module
 */
import { createRequire } from 'node:module';
import { TesseraError } from '../core/errors.js';
import { SqlStore, type SqlDriver, type SqlRow, type SqlStoreOptions } from './sql.js';
import { nextTurn } from './next-turn.js';

/** The part of a prepared statement the store uses (`better-sqlite3` and `node:sqlite` agree). */
export interface SqliteStatementLike {
  /** Run with bound parameters (the store binds strings, numbers and `null`); return all rows. */
  all(...params: unknown[]): unknown[];
  /** Run with bound parameters; report how many rows changed. */
  run(...params: unknown[]): { changes: number | bigint };
}

/**
 * The part of a database handle the store uses: a `better-sqlite3` `Database` or a
 * `node:sqlite` `DatabaseSync` both fit.
 */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
  exec(sql: string): unknown;
  close(): unknown;
}

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions extends SqlStoreOptions {
  /**
   * A file path (opened with `better-sqlite3`, created if missing; `':memory:'` for a private
   * in-memory database), or an open handle. No default: where sessions live is your choice.
   * A handle you pass is used as is (no pragmas) and is not closed by {@link SqliteStore.close}.
   */
  database: string | SqliteDatabaseLike;
  /**
   * How long a write waits for another process's lock before failing, in ms (`busy_timeout`).
   * Applies to databases the store opens itself.
   * @default 5_000
   */
  busyTimeoutMs?: number;
}

type BetterSqliteConstructor = new (
  path: string,
  options?: { timeout?: number },
) => SqliteDatabaseLike & { readonly memory?: boolean };

/**
 * A {@link Store} on SQLite. Files are opened in WAL mode, so readers never block the writer.
 * @example
 * const store = new SqliteStore({ database: 'sessions.db' });
 */
export class SqliteStore extends SqlStore {
  /** The database handle in use (the one passed in, or the one the store opened). */
  readonly database: SqliteDatabaseLike;

  constructor(options: SqliteStoreOptions) {
    const database = options?.database;
    const { busyTimeoutMs = 5_000 } = options ?? {};
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new TesseraError('INVALID_OPTION', 'SqliteStore: busyTimeoutMs must be an integer >= 0');
    }
    let db: SqliteDatabaseLike;
    if (typeof database === 'string' && database !== '') {
      db = openDatabase(database, busyTimeoutMs);
    } else if (isDatabaseLike(database)) {
      db = database;
    } else {
      throw new TesseraError(
        'INVALID_OPTION',
        'SqliteStore: `database` must be a file path, ":memory:", or an open SQLite handle',
      );
    }
    const owned = db !== database;
    try {
      super(sqliteDriver(db, owned), options);
    } catch (err) {
      if (owned) db.close(); // an invalid option must not leak the file handle we opened
      throw err;
    }
    this.database = db;
  }
}

function isDatabaseLike(value: unknown): value is SqliteDatabaseLike {
  const v = value as Partial<Record<keyof SqliteDatabaseLike, unknown>> | null;
  return typeof v === 'object' && v !== null && typeof v.prepare === 'function' && typeof v.exec === 'function';
}

/** Open a file (or `:memory:`) with better-sqlite3; WAL for files, and a busy timeout. */
function openDatabase(path: string, busyTimeoutMs: number): SqliteDatabaseLike {
  const Database = loadBetterSqlite3();
  let db: InstanceType<BetterSqliteConstructor> | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    if (!db.memory && path !== ':memory:') {
      db.exec('PRAGMA journal_mode = WAL');
      // Writes are durable at checkpoints (fast); deletes at once (see executeDurably).
      db.exec('PRAGMA synchronous = NORMAL');
    }
  } catch (err) {
    db?.close();
    throw new TesseraError('INVALID_OPTION', 'SqliteStore: could not open the database', {
      cause: err,
    });
  }
  return db;
}

function loadBetterSqlite3(): BetterSqliteConstructor {
  // Not the bare `require`: esbuild's ESM output replaces it with a stub that throws. tsup's
  // shims give the CommonJS build an `import.meta.url`.
  const load = createRequire(import.meta.url);
  try {
    const mod = load('better-sqlite3') as BetterSqliteConstructor | { default: BetterSqliteConstructor };
    return 'default' in mod ? mod.default : mod;
  } catch (err) {
    throw new TesseraError(
      'INVALID_OPTION',
      'SqliteStore needs the better-sqlite3 package to open a database path: npm install better-sqlite3 ' +
        '(or pass an open database handle as `database`)',
      { cause: err },
    );
  }
}

/** `PRAGMA synchronous` level FULL (NORMAL is 1, EXTRA 3). */
const SYNCHRONOUS_FULL = 2;

/** The driver shim: statements are prepared once and cached. */
function sqliteDriver(db: SqliteDatabaseLike, owned: boolean): SqlDriver {
  const cache = new Map<string, SqliteStatementLike>();
  const prepare = (sql: string): SqliteStatementLike => {
    let statement = cache.get(sql);
    if (!statement) cache.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  return {
    dialect: 'sqlite',
    // Each statement runs on the next turn of the event loop (see next-turn.ts); it is one
    // statement, atomic by itself, as on a pooled connection (the store needs no transactions).
    query: async (sql, params) => {
      await nextTurn();
      return prepare(sql).all(...params) as SqlRow[];
    },
    execute: async (sql, params) => {
      await nextTurn();
      return Number(prepare(sql).run(...params).changes);
    },
    // In WAL mode with synchronous=NORMAL (what the store sets, and most apps do) a commit is
    // durable only at the next checkpoint: a power loss could bring a deleted session back.
    // FULL for this one statement syncs the WAL at its commit; the level is put back after
    // (all within one turn of the event loop, so no other statement runs at FULL).
    executeDurably: async (sql, params) => {
      await nextTurn();
      const level = Number((db.prepare('PRAGMA synchronous').all()[0] as { synchronous?: unknown } | undefined)?.synchronous ?? 2);
      if (level >= SYNCHRONOUS_FULL) return Number(prepare(sql).run(...params).changes);
      db.exec('PRAGMA synchronous = FULL');
      try {
        return Number(prepare(sql).run(...params).changes);
      } finally {
        db.exec(`PRAGMA synchronous = ${level}`);
      }
    },
    close: () => {
      cache.clear();
      if (owned) db.close();
    },
  };
}
