/**
 * MysqlStore against the MySQL or MariaDB server at `MYSQL_URL` (see test/helpers/sql-servers.ts):
 * the conformance suite, then what is specific to this store. Every table this file creates has
 * a name unique to the run and is dropped afterwards.
 */
import mysqlCallback from 'mysql2';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { MysqlStore, type MysqlStoreOptions } from '../../src/store/mysql.js';
import { buildStatements } from '../../src/store/sql-dialect.js';
import type { SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { countingProxy, migrationStatements, everyWritersKey, parallelWriters, probeMysql, readsOfOneTurn, uniqueTableName } from '../helpers/sql-servers.js';
import { sampleRecord } from '../helpers/records.js';
import { catchError } from '../helpers/errors.js';
import { unavailable } from '../helpers/unavailable.js';

const server = await probeMysql();

if (server.skip !== undefined) {
  // Reached only outside CI: probeMysql() throws under CI=true, so a missing server fails the run.
  unavailable('MysqlStore against a real server', server.skip);
} else {
  const pool = mysql.createPool({ uri: server.url, connectionLimit: 10 });
  const tables: string[] = [];
  const newTable = (): string => {
    const name = uniqueTableName('tessera_my_test');
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await pool.query(`DROP TABLE IF EXISTS \`${name}\``);
    await pool.end();
  });
  const rows = async <T,>(sql: string, params: unknown[] = []): Promise<T[]> =>
    (await pool.query<RowDataPacket[]>(sql, params))[0] as T[];

  const conformanceTable = newTable();
  runStoreConformance(
    'MysqlStore (mysql2/promise Pool)',
    ({ now }) => ({ store: new MysqlStore({ pool, tableName: conformanceTable, now, purgeIntervalMs: 0 }) }),
    { framework: { describe, it } },
  );

  // A server or session in NO_BACKSLASH_ESCAPES mode reads a backslash as an ordinary character
  // (a quote is escaped by doubling it): values escaped the default way then end their string at
  // the first quote. The whole suite again on connections in that mode, with ANSI too (double
  // quotes delimit identifiers, || concatenates).
  const noBackslashPool = mysql.createPool({ uri: server.url, connectionLimit: 4 });
  noBackslashPool.pool.on('connection', (connection) => {
    connection.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI')");
  });
  afterAll(() => noBackslashPool.end());
  const noBackslashTable = newTable();
  runStoreConformance(
    'MysqlStore (connections in ANSI and NO_BACKSLASH_ESCAPES mode)',
    ({ now }) => ({ store: new MysqlStore({ pool: noBackslashPool, tableName: noBackslashTable, now, purgeIntervalMs: 0 }) }),
    { framework: { describe, it } },
  );

  describe('MysqlStore', () => {
    const T0 = 1_700_000_000_000;
    const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => sampleRecord(overrides, T0);
    const stores: MysqlStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    const open = (options: Partial<MysqlStoreOptions> = {}): MysqlStore => {
      const store = new MysqlStore({ pool, tableName: newTable(), now: () => T0, purgeIntervalMs: 0, ...options } as MysqlStoreOptions);
      stores.push(store);
      return store;
    };
    const rowCount = async (table: string): Promise<number> =>
      Number((await rows<{ n: number }>(`SELECT count(*) AS n FROM \`${table}\``))[0]?.n);

    it('creates an InnoDB table on first use with a primary key and indexes on user_id and expires_at', async () => {
      const tableName = newTable();
      const store = open({ tableName });
      await store.get('k');
      const indexes = await rows<{ name: string; columnName: string }>(
        'SELECT index_name AS name, column_name AS columnName FROM information_schema.statistics ' +
          'WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name',
        [tableName],
      );
      expect(indexes.map((r) => [r.name, r.columnName])).toEqual([
        ['PRIMARY', 'key'],
        [`${tableName}_expires_at_idx`, 'expires_at'],
        [`${tableName}_user_id_idx`, 'user_id'],
      ]);
      const [table] = await rows<{ engine: string }>(
        'SELECT engine FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        [tableName],
      );
      expect(table?.engine).toBe('InnoDB');
    });

    it('documents in docs/sql-migration.md exactly the statements it runs, and works on a table they created', async () => {
      const tableName = newTable();
      const statements = migrationStatements('MySQL and MariaDB', tableName);
      expect(statements).toEqual(buildStatements('mysql', tableName).create);
      for (const statement of statements) await pool.query(statement);
      const store = open({ tableName, createTable: false });
      await store.set('k', record({ userId: 'alice' }));
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['k']);
    });

    it('rejects with STORE_UNAVAILABLE naming the missing table when createTable is false (never shown to clients)', async () => {
      const tableName = newTable();
      const store = open({ tableName, createTable: false });
      const error = await store.get('k').catch((err: unknown) => err);
      expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
      // The operator needs to know why; the driver's error is the cause, and clients never see either.
      expect((error as Error).message).toContain(tableName);
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect((error as { expose?: unknown }).expose).toBe(false);
    });

    it('counts a touch that writes the values a row already has (found rows, not changed rows)', async () => {
      const store = open();
      await store.set('k', record());
      expect(await store.touch('k', T0 + 5, T0 + 90_000)).toBe(true);
      expect(await store.touch('k', T0 + 5, T0 + 90_000)).toBe(true);
      const same = record({ version: 2 });
      expect(await store.set('k', same, { expectVersion: 1 })).toBe(true);
      expect(await store.set('k', same, { expectVersion: 2 })).toBe(true);
    });

    it('refuses at construction a pool that reports changed rows instead of found rows', () => {
      const changedRows = mysql.createPool({ uri: server.url, flags: ['-FOUND_ROWS'] });
      try {
        const error = catchError(() => new MysqlStore({ pool: changedRows }));
        expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
        expect((error as Error).message).toContain('FOUND_ROWS');
        const uriError = catchError(() => new MysqlStore({ uri: server.url, poolOptions: { flags: '-FOUND_ROWS' } }));
        expect(isTesseraError(uriError, 'INVALID_OPTION')).toBe(true);
      } finally {
        void changedRows.end();
      }
    });

    it('keeps user ids that differ only by trailing spaces or letter case apart', async () => {
      const store = open();
      await store.set('plain', record({ userId: 'alice' }));
      await store.set('spaced', record({ userId: 'alice ' }));
      await store.set('upper', record({ userId: 'ALICE' }));
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['plain']);
      expect((await store.listByUser('alice ')).map((e) => e.key)).toEqual(['spaced']);
      expect(await store.deleteByUser('alice')).toBe(1);
      expect(await store.get('spaced')).not.toBeNull();
      expect(await store.get('upper')).not.toBeNull();
    });

    it('fails a write with a user id over 255 bytes instead of truncating it', async () => {
      const store = open();
      const userId = 'u'.repeat(256);
      for (const options of [{}, { expectVersion: null }]) {
        const error = await store.set('k', record({ userId }), options).catch((err: unknown) => err);
        expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
      }
      expect(await store.get('k')).toBeNull();
    });

    it('keeps 4-byte UTF-8 and the exact JSON text it wrote', async () => {
      const tableName = newTable();
      const store = open({ tableName });
      const written = record({ data: { z: '🔐 会话', a: 'nul:\u0000' } });
      await store.set('k', written);
      const [row] = await rows<{ record: string }>(`SELECT record FROM \`${tableName}\``);
      expect(row?.record).toBe(JSON.stringify(written));
      expect((await store.get('k'))?.data).toEqual(written.data);
    });

    it.each([
      ['the default SQL mode', pool],
      ['ANSI and NO_BACKSLASH_ESCAPES mode', noBackslashPool],
    ])('in %s, a user id or value with quotes and backslashes is data, never SQL', async (_mode, modePool) => {
      const tableName = newTable();
      const store = open({ pool: modePool, tableName });
      const sneaky = "' OR 1=1 -- ";
      const data = { quote: "it's", backslashQuote: "\\'", both: "\\' OR '1'='1", path: 'C:\\temp\\' };
      await store.set('victim-1', record({ userId: 'victim' }));
      await store.set('victim-2', record({ userId: 'victim' }));
      await store.set('sneaky', record({ userId: sneaky, data }));
      expect((await store.get('sneaky'))?.data).toEqual(data);
      expect((await store.listByUser(sneaky)).map((e) => e.key)).toEqual(['sneaky']);
      expect(await store.applyDelta('sneaky', { set: { [`k'ey`]: "v'\\" }, remove: [], lastSeenAt: T0, expiresAt: T0 + 60_000 })).toBe(2);
      expect((await store.get('sneaky'))?.data).toEqual({ ...data, "k'ey": "v'\\" });
      expect(await store.deleteByUser(sneaky, { exceptKey: "x' OR 1=1 -- " })).toBe(1);
      expect((await store.listByUser('victim')).map((e) => e.key).sort()).toEqual(['victim-1', 'victim-2']);
      expect(await rowCount(tableName)).toBe(2);
    });

    it('purges expired rows in batches of purgeBatchSize and keeps live rows', async () => {
      let now = T0;
      const tableName = newTable();
      const store = open({ tableName, purgeBatchSize: 2, now: () => now });
      for (let i = 0; i < 5; i++) await store.set(`old${i}`, record({ expiresAt: T0 + 10 }));
      await store.set('live', record({ expiresAt: T0 + 60_000 }));
      now = T0 + 10;
      expect(await store.purgeExpired({ maxBatches: 1 })).toBe(2);
      expect(await rowCount(tableName)).toBe(4);
      expect(await store.purgeExpired()).toBe(3);
      expect(await rowCount(tableName)).toBe(1);
      expect(await store.get('live')).not.toBeNull();
    });

    it.each(['', '1sessions', 'sessions; DROP TABLE users', 'a`b', 'a-b', 'schema.table', 'x'.repeat(49)])(
      'rejects the unsafe table name %j at construction',
      (tableName) => {
        const error = catchError(() => new MysqlStore({ pool, tableName }));
        expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      },
    );

    it('rejects options without exactly one of pool and uri at construction', () => {
      const invalid = [undefined, {}, { pool, uri: server.url }, { uri: '' }, { pool: {} }];
      for (const options of invalid) {
        const error = catchError(() => new MysqlStore(options as unknown as MysqlStoreOptions));
        expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      }
    });

    it('closes the pool it opened from uri on close()', async () => {
      const proxy = await countingProxy(server.url);
      try {
        const store = new MysqlStore({ uri: proxy.url, tableName: newTable(), purgeIntervalMs: 0 });
        await store.set('k', record({ expiresAt: Date.now() + 60_000 }));
        expect(proxy.open()).toBeGreaterThan(0);
        await store.close();
        await expect.poll(() => proxy.open(), { timeout: 5_000 }).toBe(0);
      } finally {
        await proxy.close();
      }
    });

    it('leaves a pool it was given open on close(), and accepts a callback-style pool', async () => {
      const store = new MysqlStore({ pool, tableName: newTable(), purgeIntervalMs: 0 });
      await store.get('k');
      await store.close();
      expect(await rows('SELECT 1 AS one')).toEqual([{ one: 1 }]);

      const callbackPool = mysqlCallback.createPool({ uri: server.url, connectionLimit: 2 });
      try {
        const onCallbackPool = new MysqlStore({ pool: callbackPool, tableName: newTable(), now: () => T0, purgeIntervalMs: 0 });
        await onCallbackPool.set('k', record());
        expect((await onCallbackPool.get('k'))?.version).toBe(1);
        await onCallbackPool.close();
        await callbackPool.promise().query('SELECT 1');
      } finally {
        await callbackPool.promise().end();
      }
    });

    it('rejects with STORE_UNAVAILABLE, without the password, when the server cannot be reached', async () => {
      const store = new MysqlStore({ uri: 'mysql://tessera:s3cret-password@127.0.0.1:1/none', purgeIntervalMs: 0 });
      stores.push(store);
      const error = await store.get('k').catch((err: unknown) => err);
      expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).not.toContain('s3cret');
    });

    it('answers the reads of one turn of the event loop with one SELECT, each caller its own copy', async () => {
      const sent: string[] = [];
      // The real pool, with every statement's text recorded on the way.
      const counting = new Proxy(pool, {
        get(target, property, receiver) {
          if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
          return (sql: string, values: unknown[]) => {
            sent.push(sql);
            return target.query(sql, values);
          };
        },
      });
      await readsOfOneTurn(open({ pool: counting }), sent, ' IN (', record, T0 - 1);
    });

    it('keeps every key when 20 parallel requests of one session each set a different key', async () => {
      const store = new MysqlStore({ pool, tableName: newTable(), purgeIntervalMs: 0 });
      stores.push(store);
      expect(await parallelWriters(store, 20)).toEqual(everyWritersKey(20));
    });
  });
}
