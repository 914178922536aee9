/**
 * The SQL text of the shared SQL store, per dialect. Everything that differs between SQLite,
 * PostgreSQL and MySQL is in {@link DIALECTS}; {@link buildStatements} assembles the statements
 * once per store. Identifiers are validated by the caller and quoted here.
 * @module
 */

/** The SQL dialects the shared SQL store speaks. */
export type SqlDialect = 'sqlite' | 'postgres' | 'mysql';

/** Every statement the SQL store runs, with placeholders already in the dialect's style. */
export interface SqlStatements {
  /** DDL run in order on first use: the table, then its indexes. */
  readonly create: readonly string[];
  /** (key, now) → the live row. */
  readonly get: string;
  /** (key, userId, version, expiresAt, lastSeenAt, record): insert or replace. */
  readonly upsert: string;
  /** (key, userId, version, expiresAt, lastSeenAt, record): insert unless the key exists. */
  readonly insertIfAbsent: string;
  /** (key, now): delete the row if it has expired. */
  readonly deleteExpiredKey: string;
  /** (userId, version, expiresAt, lastSeenAt, record, key, expectVersion, now): CAS update. */
  readonly update: string;
  /** (lastSeenAt, expiresAt, key, now): extend a live row. */
  readonly touch: string;
  /** (key). */
  readonly delete: string;
  /** (userId, now) → live rows of the user. */
  readonly listByUser: string;
  /** (userId, now): delete the user's live rows. */
  readonly deleteByUser: string;
  /** (userId, now, exceptKey). */
  readonly deleteByUserExcept: string;
  /** (now, limit): delete at most `limit` expired rows. */
  readonly purge: string;
  /** (now): delete every live row (an administrator ending every session). */
  readonly deleteAll: string;
}

interface Dialect {
  readonly quote: (name: string) => string;
  /** Column types: key, user id, integer (ms timestamps, version), record text. */
  readonly types: { key: string; userId: string; int: string; record: string };
  /** MySQL has no `CREATE INDEX IF NOT EXISTS`: declare indexes inside `CREATE TABLE`. */
  readonly inlineIndexes: boolean;
  /** Text after the column list of `CREATE TABLE` (the storage engine). */
  readonly tableOptions: string;
  /** `INSERT ... <tail>` that turns a key conflict into an update of `columns`. */
  readonly upsertTail: (columns: readonly string[]) => string;
  /**
   * Head and tail of an `INSERT` that does nothing on a key conflict (MySQL: a plain `INSERT`
   * whose duplicate-key error its driver reports as 0 rows).
   */
  readonly insertIgnore: readonly [head: string, tail: string];
  /** (now, limit) → delete a batch of expired rows. */
  readonly purge: (table: string, key: string, expiresAt: string) => string;
  /** Placeholders are `$1, $2, ...` instead of `?`. */
  readonly numbered: boolean;
}

const doubleQuote = (name: string): string => `"${name}"`;
const purgeBySubquery = (t: string, k: string, e: string): string =>
  `DELETE FROM ${t} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${e} <= ? LIMIT ?)`;
const onConflict = (columns: readonly string[]): string =>
  `ON CONFLICT (${doubleQuote('key')}) DO UPDATE SET ` +
  columns.map((c) => `${c} = excluded.${c}`).join(', ');

const DIALECTS: Readonly<Record<SqlDialect, Dialect>> = {
  sqlite: {
    quote: doubleQuote,
    types: { key: 'TEXT', userId: 'TEXT', int: 'INTEGER', record: 'TEXT' },
    inlineIndexes: false,
    tableOptions: '',
    upsertTail: onConflict,
    insertIgnore: ['INSERT INTO', 'ON CONFLICT DO NOTHING'],
    purge: purgeBySubquery,
    numbered: false,
  },
  postgres: {
    quote: doubleQuote,
    types: { key: 'TEXT', userId: 'TEXT', int: 'BIGINT', record: 'TEXT' },
    inlineIndexes: false,
    tableOptions: '',
    upsertTail: onConflict,
    insertIgnore: ['INSERT INTO', 'ON CONFLICT DO NOTHING'],
    // SKIP LOCKED: purges of several app instances take different rows instead of queueing.
    purge: (t, k, e) =>
      `DELETE FROM ${t} WHERE ${k} IN (SELECT ${k} FROM ${t} WHERE ${e} <= ? LIMIT ? FOR UPDATE SKIP LOCKED)`,
    numbered: true,
  },
  mysql: {
    quote: (name) => `\`${name}\``,
    // Keys and user ids are bytes: VARCHAR `_bin` collations are PAD SPACE (all of MariaDB's,
    // MySQL's but the `_0900_` ones), so 'alice' = 'alice ' would list and delete another
    // user's sessions.
    // The record's character set is explicit: the server's default may not be utf8mb4.
    types: {
      key: 'VARBINARY(255)',
      userId: 'VARBINARY(255)',
      int: 'BIGINT',
      record: 'MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
    },
    inlineIndexes: true,
    tableOptions: ' ENGINE=InnoDB',
    upsertTail: (columns) =>
      'ON DUPLICATE KEY UPDATE ' + columns.map((c) => `${c} = VALUES(${c})`).join(', '),
    // Not `INSERT IGNORE`: it also turns "data too long" into a silent truncation of user_id.
    // The MySQL driver reports the duplicate-key error of a plain INSERT as 0 rows instead.
    insertIgnore: ['INSERT INTO', ''],
    // MySQL supports neither LIMIT in an IN subquery nor needs one: DELETE takes LIMIT. The
    // ORDER BY (served by the expires_at index, which ends with the key) makes the batch
    // deterministic, so statement-based replication does not flag it as unsafe.
    purge: (t, k, e) => `DELETE FROM ${t} WHERE ${e} <= ? ORDER BY ${e}, ${k} LIMIT ?`,
    numbered: false,
  },
};

/** Build every statement for a dialect and an already validated table name. */
export function buildStatements(dialectName: SqlDialect, tableName: string): SqlStatements {
  const d = DIALECTS[dialectName];
  if (!d) throw new TypeError(`Unknown SQL dialect: ${String(dialectName)}`);
  const q = d.quote;
  const t = q(tableName);
  const [key, userId, version, expiresAt, lastSeenAt, record] = [
    'key', 'user_id', 'version', 'expires_at', 'last_seen_at', 'record',
  ].map(q) as [string, string, string, string, string, string];
  const written = [userId, version, expiresAt, lastSeenAt, record];
  const insert = `(${key}, ${written.join(', ')}) VALUES (?, ?, ?, ?, ?, ?)`;
  const live = `${expiresAt} > ?`;
  const select = `SELECT ${key}, ${version}, ${expiresAt}, ${lastSeenAt}, ${record} FROM ${t}`;
  const indexes: Array<[name: string, column: string]> = [
    [q(`${tableName}_user_id_idx`), userId],
    [q(`${tableName}_expires_at_idx`), expiresAt],
  ];
  const columns = [
    `${key} ${d.types.key} NOT NULL PRIMARY KEY`,
    `${userId} ${d.types.userId} NULL`,
    `${version} ${d.types.int} NOT NULL`,
    `${expiresAt} ${d.types.int} NOT NULL`,
    `${lastSeenAt} ${d.types.int} NOT NULL`,
    `${record} ${d.types.record} NOT NULL`,
    ...(d.inlineIndexes ? indexes.map(([name, column]) => `INDEX ${name} (${column})`) : []),
  ];
  const create = [
    `CREATE TABLE IF NOT EXISTS ${t} (${columns.join(', ')})${d.tableOptions}`,
    ...(d.inlineIndexes
      ? []
      : indexes.map(([name, column]) => `CREATE INDEX IF NOT EXISTS ${name} ON ${t} (${column})`)),
  ];
  const statements: SqlStatements = {
    create,
    get: `${select} WHERE ${key} = ? AND ${live}`,
    upsert: `INSERT INTO ${t} ${insert} ${d.upsertTail(written)}`,
    insertIfAbsent: `${d.insertIgnore[0]} ${t} ${insert} ${d.insertIgnore[1]}`.trimEnd(),
    deleteExpiredKey: `DELETE FROM ${t} WHERE ${key} = ? AND ${expiresAt} <= ?`,
    update:
      `UPDATE ${t} SET ${written.map((c) => `${c} = ?`).join(', ')} ` +
      `WHERE ${key} = ? AND ${version} = ? AND ${live}`,
    touch: `UPDATE ${t} SET ${lastSeenAt} = ?, ${expiresAt} = ? WHERE ${key} = ? AND ${live}`,
    delete: `DELETE FROM ${t} WHERE ${key} = ?`,
    listByUser: `${select} WHERE ${userId} = ? AND ${live}`,
    deleteByUser: `DELETE FROM ${t} WHERE ${userId} = ? AND ${live}`,
    deleteByUserExcept: `DELETE FROM ${t} WHERE ${userId} = ? AND ${live} AND ${key} <> ?`,
    purge: d.purge(t, key, expiresAt),
    deleteAll: `DELETE FROM ${t} WHERE ${live}`,
  };
  return d.numbered ? numberPlaceholders(statements) : statements;
}

/**
 * The statement of `SqlStore.applyDelta`: set and remove keys of the record's `data` in place,
 * add 1 to the version, move `last_seen_at` and `expires_at` forward, on a live row only.
 *
 * Parameters, in order: (PostgreSQL) keys to remove as a JSON array, the keys to set as a JSON
 * object; (SQLite, MySQL) `removeCount` JSON paths, then `setCount` pairs of path and JSON
 * value; then (all) lastSeenAt, expiresAt, key, now. PostgreSQL and SQLite return the new
 * `version` as a row; MySQL puts it in `LAST_INSERT_ID()` (the driver's `insertId`), as its
 * `UPDATE` has no `RETURNING`.
 */
export function buildDeltaStatement(dialectName: SqlDialect, tableName: string, removeCount: number, setCount: number): string {
  const d = DIALECTS[dialectName];
  const q = d.quote;
  const [t, key, version, expiresAt, lastSeenAt, record] = [tableName, 'key', 'version', 'expires_at', 'last_seen_at', 'record'].map(q) as [
    string, string, string, string, string, string,
  ];
  const list = (n: number, item: string): string => Array.from({ length: n }, () => item).join(', ');
  let merged: string;
  let newVersion = `${version} + 1`;
  let tail = '';
  if (dialectName === 'postgres') {
    merged = postgresMerge(record, '?::jsonb', '?::jsonb');
    tail = ` RETURNING ${version}`;
  } else {
    const json = dialectName === 'sqlite' ? 'json(?)' : "JSON_EXTRACT(?, '$')";
    const [remove, set] = dialectName === 'sqlite' ? ['json_remove', 'json_set'] : ['JSON_REMOVE', 'JSON_SET'];
    merged = record;
    if (removeCount > 0) merged = `${remove}(${merged}, ${list(removeCount, '?')})`;
    if (setCount > 0) merged = `${set}(${merged}, ${list(setCount, `?, ${json}`)})`;
    if (dialectName === 'sqlite') tail = ` RETURNING ${version}`;
    else newVersion = `LAST_INSERT_ID(${version} + 1)`;
  }
  const greatest = dialectName === 'sqlite' ? 'max' : 'GREATEST';
  // A corrupt row (not JSON) is no live session: the delta matches nothing, as on a deleted
  // row, instead of failing (SQLite, MySQL) or being merged into NULL (MariaDB). PostgreSQL's
  // cast fails the statement; the store then answers 'unsupported'.
  const valid = dialectName === 'sqlite' ? ` AND json_valid(${record})` : dialectName === 'mysql' ? ` AND JSON_VALID(${record})` : '';
  const sql =
    `UPDATE ${t} SET ${record} = ${merged}, ${version} = ${newVersion}, ` +
    `${lastSeenAt} = ${greatest}(${lastSeenAt}, ?), ${expiresAt} = ${greatest}(${expiresAt}, ?) ` +
    `WHERE ${key} = ? AND ${expiresAt} > ?${valid}${tail}`;
  return d.numbered ? renumber(sql) : sql;
}

/**
 * PostgreSQL: the record text `record` with the keys of the jsonb array `remove` taken out of
 * its `data` and the jsonb object `set` merged in, as text. `||` of two jsonb objects is a
 * shallow merge: a set replaces the key's value whole.
 */
function postgresMerge(record: string, remove: string, set: string): string {
  const doc = `${record}::jsonb`;
  return (
    `jsonb_set(${doc}, '{data}', (coalesce(${doc} -> 'data', '{}'::jsonb) - ` +
    `ARRAY(SELECT jsonb_array_elements_text(${remove}))) || ${set})::text`
  );
}

/**
 * Statements for many keys at once, for the batches of `SqlStore` (see `./turn-batch.js`):
 * PostgreSQL and MySQL, whose stores talk to a server (a SQLite call costs no round trip).
 */
export interface BatchStatements {
  /**
   * (keys, now) → the live rows among `keys`. PostgreSQL binds the keys as one `text[]`; MySQL
   * as one array, which `mysql2` expands into the `IN (...)` list.
   */
  readonly getMany: string;
  /**
   * PostgreSQL only (MySQL's `UPDATE` cannot tell the new version of each row):
   * (keys `text[]`, removals `jsonb[]` of arrays, sets `jsonb[]` of objects, lastSeenAts
   * `bigint[]`, expiresAts `bigint[]`, steps `bigint[]`, now) → `(key, version)` of each live
   * row changed. The delta of `applyDelta` on every row, the version moved by that row's steps.
   * The rows are locked in key order first, so that two batches sharing rows (from two
   * processes) wait for each other instead of deadlocking.
   */
  readonly deltaMany?: string;
}

/** The {@link BatchStatements} of a dialect for a table (validated by the caller); none for SQLite. */
export function buildBatchStatements(dialectName: SqlDialect, tableName: string): BatchStatements | undefined {
  if (dialectName === 'sqlite') return undefined;
  const q = DIALECTS[dialectName].quote;
  const [t, key, version, expiresAt, lastSeenAt, record] = [tableName, 'key', 'version', 'expires_at', 'last_seen_at', 'record'].map(q) as [
    string, string, string, string, string, string,
  ];
  const select = `SELECT ${key}, ${version}, ${expiresAt}, ${lastSeenAt}, ${record} FROM ${t}`;
  if (dialectName === 'mysql') return { getMany: `${select} WHERE ${key} IN (?) AND ${expiresAt} > ?` };
  const merged = postgresMerge(`s.${record}`, 'b.remove', 'b.set');
  return {
    getMany: `${select} WHERE ${key} = ANY($1::text[]) AND ${expiresAt} > $2`,
    deltaMany:
      `WITH b AS (SELECT * FROM unnest($1::text[], $2::jsonb[], $3::jsonb[], $4::bigint[], $5::bigint[], $6::bigint[]) ` +
      `AS b(key, remove, set, last_seen_at, expires_at, steps)), ` +
      `locked AS (SELECT ${key} FROM ${t} WHERE ${key} = ANY($1::text[]) AND ${expiresAt} > $7 ORDER BY ${key} FOR UPDATE) ` +
      `UPDATE ${t} AS s SET ${record} = ${merged}, ${version} = s.${version} + b.steps, ` +
      `${lastSeenAt} = GREATEST(s.${lastSeenAt}, b.last_seen_at), ${expiresAt} = GREATEST(s.${expiresAt}, b.expires_at) ` +
      `FROM b JOIN locked ON locked.${key} = b.key WHERE s.${key} = b.key AND s.${expiresAt} > $7 RETURNING s.${key}, s.${version}`,
  };
}

/**
 * Whether a data key can go into a JSON path of SQLite's and MySQL's JSON functions as
 * `$.data."<key>"`: neither of them escapes a quote or a backslash inside the quoted label
 * (SQLite then writes invalid JSON), and MySQL may answer NULL for non-ASCII keys on a
 * connection whose character set differs. Other keys take the compare-and-set path.
 */
export function isPathSafeKey(key: string): boolean {
  return /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(key);
}

/** Rewrite `?` to `$1, $2, ...`. Safe: the statements contain no string literal with a `?`. */
function renumber(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Rewrite `?` to `$1, $2, ...` (PostgreSQL) in every statement. */
function numberPlaceholders(statements: SqlStatements): SqlStatements {
  const entries = Object.entries(statements).map(([name, sql]: [string, string | string[]]) => [
    name,
    Array.isArray(sql) ? sql.map(renumber) : renumber(sql),
  ]);
  return Object.fromEntries(entries) as unknown as SqlStatements;
}
