/**
 * One SQL {@link Store} body shared by the SQLite, PostgreSQL and MySQL stores. Each database
 * only supplies a tiny {@link SqlDriver} (run a statement, return rows or a row count); the SQL
 * dialect differences live in `./sql-dialect.js`.
 *
 * Every operation is one statement, or (create-if-absent) two statements whose interleaving with
 * other writers is harmless, so the body needs no transactions and works on a connection pool.
 * On PostgreSQL and MySQL the reads of one turn of the event loop go out together, as one
 * statement, and on PostgreSQL the data deltas too (`./turn-batch.js`): a busy server pays one
 * round trip (one commit) for many requests.
 * @module
 */
import { TesseraError, storeUnavailable } from '../core/errors.js';
import {
  buildDeltaStatement,
  buildBatchStatements,
  buildStatements,
  isPathSafeKey,
  type BatchStatements,
  type SqlDialect,
  type SqlStatements,
} from './sql-dialect.js';
import { mergeDeltas, positionsByKey, spreadResult, TurnBatch, type KeyedDelta } from './turn-batch.js';
import type {
  DataDelta,
  DeleteByUserOptions,
  SessionRecord,
  SetOptions,
  Store,
  UserSessionEntry,
} from './types.js';
import { decodeRecord, encodeRecord, isSessionRecord, undecodableRecord } from './types.js';

export type { SqlDialect } from './sql-dialect.js';

/**
 * A value bound to a statement parameter. Arrays only in the batch statements: PostgreSQL
 * binds one as an array, `mysql2` expands one into the list of an `IN (?)`.
 */
export type SqlValue = string | number | null | readonly string[] | readonly number[];

/** A result row keyed by column name. Integer columns may come back as numbers, strings or bigints. */
export type SqlRow = Readonly<Record<string, unknown>>;

/**
 * What a database client must provide. SQL text uses `?` placeholders; for `postgres` the body
 * rewrites them to `$1, $2, ...` before calling the driver. Either method may return a value or
 * a promise, and may throw: the body wraps every failure as `STORE_UNAVAILABLE`.
 */
export interface SqlDriver {
  /** Which SQL dialect to speak. */
  readonly dialect: SqlDialect;
  /**
   * Run a statement that returns rows. For the `mysql` dialect, an `UPDATE` run through it must
   * return one row with the statement's `affectedRows` and `insertId` (what `mysql2` answers).
   */
  query(sql: string, params: readonly SqlValue[]): Promise<readonly SqlRow[]> | readonly SqlRow[];
  /**
   * Run a statement that returns no rows.
   * @returns the number of rows inserted, updated or deleted. For an `UPDATE`, rows matched
   * must count even when their values did not change (MySQL: connect with `CLIENT_FOUND_ROWS`).
   * A `mysql` driver reports an `INSERT` refused by a duplicate key as 0 rows, not an error.
   */
  execute(sql: string, params: readonly SqlValue[]): Promise<number> | number;
  /**
   * Optional: run a statement as {@link execute} does, but durable before it returns, even
   * where ordinary writes are not (SQLite in WAL mode with `synchronous=NORMAL`). Used for
   * deletes: an acknowledged sign-out or revocation must survive a power loss, or the session
   * would come back. Servers that make every commit durable (PostgreSQL, MySQL) leave it out.
   */
  executeDurably?(sql: string, params: readonly SqlValue[]): Promise<number> | number;
  /** Release the connection (called once by {@link SqlStore.close}). */
  close?(): Promise<void> | void;
}

/** Options of {@link SqlStore}. */
export interface SqlStoreOptions {
  /**
   * Table name: letters, digits and `_`, starting with a letter or `_`, at most 48 characters.
   * @default 'tessera_sessions'
   */
  tableName?: string;
  /** Create the table and its indexes (`IF NOT EXISTS`) before the first operation. @default true */
  createTable?: boolean;
  /** The clock used for expiry comparisons, in ms since the Unix epoch. @default Date.now */
  now?: () => number;
  /** Most expired rows deleted by one purge statement. @default 500 */
  purgeBatchSize?: number;
  /**
   * Period of the expired-row purge, in ms; `0` disables the timer. The timer is `unref`'d.
   * @default 300_000 (5 minutes)
   */
  purgeIntervalMs?: number;
}

/** Options of {@link SqlStore.purgeExpired}. */
export interface PurgeOptions {
  /** Stop after this many batches of `purgeBatchSize` rows. @default Infinity */
  maxBatches?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;
/** Attempts at creating the table and its indexes before a call fails (see `#createTable`). */
const CREATE_PASSES = 6;

/**
 * A {@link Store} on any SQL database reachable through a {@link SqlDriver}.
 *
 * Table `tessera_sessions(key, user_id, version, expires_at, last_seen_at, record)`: `record` is
 * the JSON of the record; the other columns are its indexed or frequently updated fields and win
 * over the copies inside the JSON (so `touch` is a single `UPDATE` that never rewrites data).
 */
export class SqlStore implements Store {
  readonly #driver: SqlDriver;
  readonly #sql: SqlStatements;
  readonly #now: () => number;
  readonly #batchSize: number;
  readonly #tableName: string;
  /** Delta statements by shape (`removeCount:setCount`; PostgreSQL has one, whatever the counts). */
  readonly #deltaStatements = new Map<string, string>();
  /** PostgreSQL and MySQL: the statements for many keys (see `./turn-batch.js`). */
  readonly #batchSql: BatchStatements | undefined;
  /** The reads of one turn; undefined on SQLite. */
  readonly #gets: TurnBatch<string, SessionRecord | null> | undefined;
  /** The deltas of one turn; PostgreSQL only. */
  readonly #deltas: TurnBatch<KeyedDelta, number | null | 'unsupported'> | undefined;
  #ready: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #purging: Promise<unknown> | undefined;
  #closed = false;

  constructor(driver: SqlDriver, options: SqlStoreOptions = {}) {
    const { tableName = 'tessera_sessions', createTable = true, now = Date.now } = options;
    const { purgeBatchSize = 500, purgeIntervalMs = 300_000 } = options;
    if (typeof tableName !== 'string' || !IDENTIFIER.test(tableName)) {
      throw new TesseraError(
        'INVALID_OPTION',
        'tableName must be 1-48 letters, digits or underscores, not starting with a digit',
      );
    }
    if (!Number.isSafeInteger(purgeBatchSize) || purgeBatchSize < 1) {
      throw new TesseraError('INVALID_OPTION', 'purgeBatchSize must be a positive integer');
    }
    if (!Number.isFinite(purgeIntervalMs) || purgeIntervalMs < 0) {
      throw new TesseraError('INVALID_OPTION', 'purgeIntervalMs must be a number >= 0');
    }
    if (typeof now !== 'function') throw new TesseraError('INVALID_OPTION', 'now must be a function');
    this.#driver = driver;
    this.#sql = buildStatements(driver.dialect, tableName);
    this.#now = now;
    this.#batchSize = purgeBatchSize;
    this.#tableName = tableName;
    this.#batchSql = buildBatchStatements(driver.dialect, tableName);
    if (this.#batchSql !== undefined) this.#gets = new TurnBatch((keys) => this.#getMany(keys));
    if (this.#batchSql?.deltaMany !== undefined) this.#deltas = new TurnBatch((items) => this.#applyDeltaMany(items));
    if (!createTable) this.#ready = Promise.resolve();
    if (purgeIntervalMs > 0) {
      this.#timer = setInterval(() => this.#purgeInBackground(), purgeIntervalMs);
      this.#timer.unref();
    }
  }

  async get(key: string): Promise<SessionRecord | null> {
    if (this.#gets !== undefined) return this.#gets.add(key);
    const rows = await this.#query(this.#sql.get, [key, this.#now()]);
    return rows[0] ? rowToRecord(rows[0]) : null;
  }

  async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    const s = this.#sql;
    const values = [
      record.userId,
      record.version,
      record.expiresAt,
      record.lastSeenAt,
      encodeRecord(record),
    ];
    const expect = options?.expectVersion;
    if (expect === undefined) {
      await this.#execute(s.upsert, [key, ...values]);
      return true;
    }
    if (expect === null) {
      // An expired row counts as absent: drop it, then insert unless a live row exists. A racing
      // writer between the two statements either makes the insert fail (correctly) or finds no row.
      await this.#execute(s.deleteExpiredKey, [key, this.#now()]);
      return (await this.#execute(s.insertIfAbsent, [key, ...values])) > 0;
    }
    return (await this.#execute(s.update, [...values, key, expect, this.#now()])) > 0;
  }

  /**
   * One `UPDATE` that merges the delta into the stored JSON (PostgreSQL: `jsonb` `-` and `||`;
   * SQLite: `json_remove`/`json_set`; MySQL: `JSON_REMOVE`/`JSON_SET`). `'unsupported'` when
   * SQLite or MySQL could not address a key (see `isPathSafeKey`), or when PostgreSQL's `jsonb`
   * cannot hold what the record holds (a `\u0000` in a string): the engine then compare-and-sets.
   */
  async applyDelta(key: string, delta: DataDelta): Promise<number | null | 'unsupported'> {
    return this.#deltas === undefined ? this.#applyDeltaAlone(key, delta) : this.#deltas.add({ key, delta });
  }

  /** {@link applyDelta} in a statement of its own. */
  async #applyDeltaAlone(key: string, delta: DataDelta): Promise<number | null | 'unsupported'> {
    const dialect = this.#driver.dialect;
    const sets = Object.entries(delta.set);
    const times = [delta.lastSeenAt, delta.expiresAt, key, this.#now()];
    let params: SqlValue[];
    if (dialect === 'postgres') {
      const set = JSON.stringify(delta.set);
      if (set.includes('\\u0000')) return 'unsupported';
      params = [JSON.stringify(delta.remove), set, ...times];
    } else {
      if (!delta.remove.every(isPathSafeKey) || !sets.every(([name]) => isPathSafeKey(name))) return 'unsupported';
      const path = (name: string): string => `$.data."${name}"`;
      params = [...delta.remove.map(path), ...sets.flatMap(([name, value]) => [path(name), JSON.stringify(value)]), ...times];
    }
    // PostgreSQL binds the removals and sets as two jsonb values: its statement has one shape.
    const shape = dialect === 'postgres' ? '' : `${delta.remove.length}:${sets.length}`;
    let sql = this.#deltaStatements.get(shape);
    if (sql === undefined) {
      sql = buildDeltaStatement(dialect, this.#tableName, delta.remove.length, sets.length);
      this.#deltaStatements.set(shape, sql);
    }
    let rows: readonly SqlRow[];
    try {
      rows = await this.#query(sql, params);
    } catch (err) {
      // PostgreSQL refuses to read the stored JSON as jsonb (class 22: a \u0000, a lone surrogate).
      if (dialect === 'postgres' && sqlStateClass(err) === '22') return 'unsupported';
      throw err;
    }
    const row = rows[0];
    if (row === undefined) return null;
    if (dialect === 'mysql') return Number(row['affectedRows']) > 0 ? Number(row['insertId']) : null;
    return Number(row['version']);
  }

  /** PostgreSQL and MySQL: the {@link get} calls of one turn of the event loop, in one `SELECT`. */
  async #getMany(keys: readonly string[]): Promise<Array<SessionRecord | null>> {
    if (keys.length === 1) {
      const rows = await this.#query(this.#sql.get, [keys[0]!, this.#now()]);
      return [rows[0] ? rowToRecord(rows[0]) : null];
    }
    const rows = await this.#query(this.#batchSql!.getMany, [[...new Set(keys)], this.#now()]);
    const byKey = new Map(rows.map((row) => [String(row['key']), row]));
    // Decoded once per caller: callers never share a mutable record.
    return keys.map((key) => {
      const row = byKey.get(key);
      return row ? rowToRecord(row) : null;
    });
  }

  /**
   * PostgreSQL: the {@link applyDelta} calls of one turn of the event loop, in one `UPDATE`
   * (one commit). Deltas of one key are merged in their order and the version moves by their
   * number, each caller answered the version it would have had alone (the first the lowest).
   */
  async #applyDeltaMany(items: readonly KeyedDelta[]): Promise<Array<number | null | 'unsupported'>> {
    if (items.length === 1) return [await this.#applyDeltaAlone(items[0]!.key, items[0]!.delta)];
    const byKey = positionsByKey(items);
    const keys = [...byKey.keys()];
    const merged = keys.map((key) => mergeDeltas(byKey.get(key)!.map((position) => items[position]!.delta)));
    const sets = merged.map((delta) => JSON.stringify(delta.set));
    // A \u0000 that jsonb cannot hold (rare): each delta alone, so that only its own answers 'unsupported'.
    if (sets.some((set) => set.includes('\\u0000'))) return this.#applyEachAlone(items);
    const params: SqlValue[] = [
      keys,
      merged.map((delta) => JSON.stringify(delta.remove)),
      sets,
      merged.map((delta) => delta.lastSeenAt),
      merged.map((delta) => delta.expiresAt),
      merged.map((delta) => delta.steps),
      this.#now(),
    ];
    let rows: readonly SqlRow[];
    try {
      rows = await this.#query(this.#batchSql!.deltaMany!, params);
    } catch (err) {
      // One row PostgreSQL cannot read as jsonb (class 22), or a deadlock or serialisation
      // failure (class 40; the rows are locked in key order, so only a lock order of other
      // code can cause one): each delta alone, so that only the row at fault takes the
      // compare-and-set path. A failure of the server or the connection fails the whole batch.
      const sqlClass = sqlStateClass(err);
      if (sqlClass !== '22' && sqlClass !== '40') throw err;
      return this.#applyEachAlone(items);
    }
    const versions = new Map(rows.map((row) => [String(row['key']), Number(row['version'])]));
    const results = new Array<number | null>(items.length);
    keys.forEach((key) => {
      const positions = byKey.get(key)!;
      const answers = spreadResult(versions.get(key) ?? null, positions.length);
      positions.forEach((position, j) => (results[position] = answers[j]!));
    });
    return results;
  }

  /** The deltas in statements of their own: one key's in order, different keys' at once. */
  async #applyEachAlone(items: readonly KeyedDelta[]): Promise<Array<number | null | 'unsupported'>> {
    const results = new Array<number | null | 'unsupported'>(items.length);
    const chains = new Map<string, Promise<void>>();
    items.forEach(({ key, delta }, index) => {
      const previous = chains.get(key) ?? Promise.resolve();
      chains.set(key, previous.then(async () => void (results[index] = await this.#applyDeltaAlone(key, delta))));
    });
    await Promise.all(chains.values());
    return results;
  }

  async delete(key: string): Promise<void> {
    await this.#execute(this.#sql.delete, [key], true);
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    return (await this.#execute(this.#sql.touch, [lastSeenAt, expiresAt, key, this.#now()])) > 0;
  }

  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const rows = await this.#query(this.#sql.listByUser, [userId, this.#now()]);
    const result: UserSessionEntry[] = [];
    for (const row of rows) {
      const record = rowToRecord(row);
      if (isSessionRecord(record)) result.push({ key: String(row['key']), record });
    }
    return result;
  }

  async deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    const except = options?.exceptKey;
    return except === undefined
      ? this.#execute(this.#sql.deleteByUser, [userId, this.#now()], true)
      : this.#execute(this.#sql.deleteByUserExcept, [userId, this.#now(), except], true);
  }

  /** Delete every session (expired rows too). @returns how many live sessions were deleted. */
  async deleteAll(): Promise<number> {
    const live = await this.#execute(this.#sql.deleteAll, [this.#now()], true);
    await this.purgeExpired();
    return live;
  }

  /**
   * Delete expired rows now, `purgeBatchSize` at a time, yielding to the event loop between
   * batches so that requests keep being served (the timer calls this every `purgeIntervalMs`).
   * @returns the number of rows deleted.
   */
  async purgeExpired(options: PurgeOptions = {}): Promise<number> {
    const maxBatches = options.maxBatches ?? Infinity;
    let total = 0;
    for (let batch = 0; batch < maxBatches && !this.#closed; batch++) {
      const deleted = await this.#execute(this.#sql.purge, [this.#now(), this.#batchSize]);
      total += deleted;
      if (deleted < this.#batchSize) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#purging;
    try {
      await this.#driver.close?.();
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  #purgeInBackground(): void {
    if (this.#purging) return;
    // A failed purge is retried by the next tick of the timer; requests report store errors.
    this.#purging = this.purgeExpired()
      .catch(() => 0)
      .finally(() => (this.#purging = undefined));
  }

  async #query(sql: string, params: readonly SqlValue[]): Promise<readonly SqlRow[]> {
    await this.#ensureReady();
    try {
      return await this.#driver.query(sql, params);
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  /** @param durable the change must survive a power loss once this returns (deletes). */
  async #execute(sql: string, params: readonly SqlValue[], durable = false): Promise<number> {
    await this.#ensureReady();
    try {
      const driver = this.#driver;
      if (durable && driver.executeDurably !== undefined) return Number(await driver.executeDurably(sql, params));
      return Number(await driver.execute(sql, params));
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  #ensureReady(): Promise<void> {
    if (this.#closed) return Promise.reject(storeUnavailable(new Error('The store is closed')));
    this.#ready ??= this.#createTable().catch((err: unknown) => {
      this.#ready = undefined; // retry on the next call
      throw storeUnavailable(err);
    });
    return this.#ready;
  }

  async #createTable(): Promise<void> {
    // When several processes create the table at once, PostgreSQL fails the losers' `IF NOT
    // EXISTS` with a duplicate-key error as soon as the winner commits; another pass then finds
    // everything in place. Any other failure fails every pass and is reported.
    for (let pass = 1; ; pass++) {
      try {
        for (const statement of this.#sql.create) await this.#driver.execute(statement, []);
        return;
      } catch (err) {
        if (pass >= CREATE_PASSES) throw err;
        // Let the winner finish its statements before the next pass (jittered, so that a
        // crowd of starting processes does not collide again in step).
        await new Promise((resolve) => setTimeout(resolve, pass * 10 + Math.random() * 20));
      }
    }
  }
}

/**
 * Decode a row; the columns win over the copies inside the JSON. A corrupt row gives
 * {@link undecodableRecord} (the engine then deletes it).
 */
function rowToRecord(row: SqlRow): SessionRecord {
  const text = row['record'];
  const record = typeof text === 'string' ? decodeRecord(text) : undecodableRecord();
  if (record.version === -1) return record;
  const version = Number(row['version']);
  const expiresAt = Number(row['expires_at']);
  const lastSeenAt = Number(row['last_seen_at']);
  if (!Number.isSafeInteger(version) || !Number.isFinite(expiresAt) || !Number.isFinite(lastSeenAt)) {
    return undecodableRecord();
  }
  return { ...record, version, expiresAt, lastSeenAt };
}

/** The class (first two characters of the SQLSTATE) of a driver error wrapped by the store. */
function sqlStateClass(err: unknown): string {
  return String((err as { cause?: { code?: unknown } }).cause?.code ?? '').slice(0, 2);
}
