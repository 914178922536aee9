/**
 * PostgresStore against the PostgreSQL server at `DATABASE_URL` (see test/helpers/sql-servers.ts):
 * the conformance suite, then what is specific to this store. Every table this file creates has
 * a name unique to the run and is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres.js';
import { buildStatements } from '../../src/store/sql-dialect.js';
import type { SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { migrationStatements, everyWritersKey, parallelWriters, probePostgres, readsOfOneTurn, uniqueTableName } from '../helpers/sql-servers.js';
import { sampleRecord } from '../helpers/records.js';
import { catchError } from '../helpers/errors.js';
import { unavailable } from '../helpers/unavailable.js';

const server = await probePostgres();

if (server.skip !== undefined) {
  // Reached only outside CI: probePostgres() throws under CI=true, so a missing server fails the run.
  unavailable('PostgresStore against a real server', server.skip);
} else {
  const pool = new pg.Pool({ connectionString: server.url, max: 10 });
  pool.on('error', () => undefined);
  const tables: string[] = [];
  const newTable = (): string => {
    const name = uniqueTableName('tessera_pg_test');
    tables.push(name);
    return name;
  };
  afterAll(async () => {
    for (const name of tables) await pool.query(`DROP TABLE IF EXISTS "${name}"`);
    await pool.end();
  });

  const conformanceTable = newTable();
  runStoreConformance(
    'PostgresStore (pg Pool)',
    ({ now }) => ({ store: new PostgresStore({ pool, tableName: conformanceTable, now, purgeIntervalMs: 0 }) }),
    { framework: { describe, it } },
  );

  describe('PostgresStore', () => {
    const T0 = 1_700_000_000_000;
    const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => sampleRecord(overrides, T0);
    const stores: PostgresStore[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
    });
    const open = (options: Partial<PostgresStoreOptions> = {}): PostgresStore => {
      const store = new PostgresStore({ pool, tableName: newTable(), now: () => T0, purgeIntervalMs: 0, ...options } as PostgresStoreOptions);
      stores.push(store);
      return store;
    };
    const rowCount = async (table: string): Promise<number> =>
      Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`)).rows[0]?.n);

    it('creates the table on first use with a primary key and indexes on user_id and expires_at', async () => {
      const tableName = newTable();
      const store = open({ tableName });
      await store.get('k');
      const indexes = await pool.query<{ indexname: string; indexdef: string }>(
        'SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexname',
        [tableName],
      );
      expect(indexes.rows.map((r) => [r.indexname, r.indexdef.replace(/^.* USING /, '')])).toEqual([
        [`${tableName}_expires_at_idx`, 'btree (expires_at)'],
        [`${tableName}_pkey`, 'btree (key)'],
        [`${tableName}_user_id_idx`, 'btree (user_id)'],
      ]);
      const columns = await pool.query<{ column_name: string; data_type: string }>(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
        [tableName],
      );
      expect(columns.rows.map((r) => `${r.column_name} ${r.data_type}`)).toEqual([
        'key text', 'user_id text', 'version bigint', 'expires_at bigint', 'last_seen_at bigint', 'record text',
      ]);
    });

    it('creates the table for stores that start at the same time without failing any of their first calls', async () => {
      const tableName = newTable();
      const racing = Array.from({ length: 8 }, () => open({ tableName }));
      const results = await Promise.allSettled(racing.map((store) => store.get('k')));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    });

    it('documents in docs/sql-migration.md exactly the statements it runs, and works on a table they created', async () => {
      const tableName = newTable();
      const statements = migrationStatements('PostgreSQL', tableName);
      expect(statements).toEqual(buildStatements('postgres', tableName).create);
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
      const exists = await pool.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [tableName]);
      expect(exists.rowCount).toBe(0);
    });

    it('keeps the record as the exact JSON text it wrote and times as BIGINT beyond 2^53 / 1000', async () => {
      const tableName = newTable();
      const store = open({ tableName });
      const farFuture = 8_640_000_000_000_000; // the largest Date, in ms
      const written = record({ expiresAt: farFuture, data: { z: 1, a: 'nul:\u0000', m: [2.5] } });
      await store.set('k', written);
      const row = await pool.query<{ record: string; expires_at: string }>(`SELECT record, expires_at FROM "${tableName}"`);
      expect(row.rows[0]?.record).toBe(JSON.stringify(written));
      expect(row.rows[0]?.expires_at).toBe(String(farFuture));
      const read = await store.get('k');
      expect(read?.expiresAt).toBe(farFuture);
      expect(Object.keys(read?.data ?? {})).toEqual(['z', 'a', 'm']);
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

    it('purges expired rows on its timer', async () => {
      let now = T0;
      const tableName = newTable();
      const store = open({ tableName, purgeIntervalMs: 10, now: () => now });
      await store.set('old', record({ expiresAt: T0 + 10 }));
      now = T0 + 10;
      await expect.poll(() => rowCount(tableName), { timeout: 5_000 }).toBe(0);
    });

    it.each(['', '1sessions', 'sessions; DROP TABLE users', 'a"b', 'a-b', 'schema.table', 'x'.repeat(49)])(
      'rejects the unsafe table name %j at construction',
      (tableName) => {
        const error = catchError(() => new PostgresStore({ pool, tableName }));
        expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      },
    );

    it('rejects options without exactly one of pool and connectionString at construction', () => {
      const invalid = [undefined, {}, { pool, connectionString: server.url }, { connectionString: '' }, { pool: {} }];
      for (const options of invalid) {
        const error = catchError(() => new PostgresStore(options as unknown as PostgresStoreOptions));
        expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      }
    });

    it('closes the pool it opened from connectionString on close()', async () => {
      const applicationName = `tessera-close-${randomBytes(4).toString('hex')}`;
      const store = new PostgresStore({
        connectionString: server.url,
        poolOptions: { application_name: applicationName },
        tableName: newTable(),
        purgeIntervalMs: 0,
      });
      await store.set('k', record({ expiresAt: Date.now() + 60_000 }));
      const connections = async (): Promise<number> =>
        (await pool.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rowCount ?? 0;
      expect(await connections()).toBeGreaterThan(0);
      await store.close();
      await expect.poll(connections, { timeout: 5_000 }).toBe(0);
    });

    it('leaves a pool or client it was given open on close()', async () => {
      const store = new PostgresStore({ pool, tableName: newTable(), purgeIntervalMs: 0 });
      await store.get('k');
      await store.close();
      expect(pool.ended).toBe(false);
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const onClient = new PostgresStore({ pool: client, tableName: newTable(), now: () => T0, purgeIntervalMs: 0 });
        await onClient.set('k', record());
        expect((await onClient.get('k'))?.version).toBe(1);
        await onClient.close();
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    });

    it('rejects with STORE_UNAVAILABLE, without the password, when the server cannot be reached', async () => {
      const store = new PostgresStore({
        connectionString: 'postgres://tessera:s3cret-password@127.0.0.1:1/none',
        purgeIntervalMs: 0,
      });
      stores.push(store);
      const error = await store.get('k').catch((err: unknown) => err);
      expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).not.toContain('s3cret');
    });

    describe('batches (the calls of one turn of the event loop, in one statement)', () => {
      /** A store on the real pool that records the text of every statement it sends. */
      const counted = (tableName = newTable()): { store: PostgresStore; sent: string[]; tableName: string } => {
        const sent: string[] = [];
        const queryable = {
          query: (text: string, values: unknown[]) => {
            sent.push(text);
            return pool.query(text, values) as Promise<{ rows: unknown[]; rowCount: number | null }>;
          },
        };
        const store = new PostgresStore({ pool: queryable, tableName, now: () => T0, purgeIntervalMs: 0 });
        stores.push(store);
        return { store, sent, tableName };
      };
      const dataDelta = (set: Record<string, unknown>, remove: string[] = [], at = T0 + 1) => ({ set, remove, lastSeenAt: at, expiresAt: at + 3_600_000 });

      it('answers the reads of one turn with one SELECT, each caller its own copy', async () => {
        const { store, sent } = counted();
        await readsOfOneTurn(store, sent, '= ANY(', record, T0 - 1);
      });

      it('applies the deltas of one turn in one UPDATE, each as if applied alone in its order', async () => {
        const { store, sent, tableName } = counted();
        await store.set('a', record({ version: 3, data: { keep: 1, x: 0 } }));
        await store.set('b', record({ version: 7, data: {} }));
        await store.set('old', record({ expiresAt: T0 - 1, data: { stale: true } }));
        sent.length = 0;
        const results = await Promise.all([
          store.applyDelta('a', dataDelta({ x: 1 })),
          store.applyDelta('b', dataDelta({ y: 1 }, [], T0 + 50)),
          store.applyDelta('a', dataDelta({ z: 1 }, ['x'])),
          store.applyDelta('none', dataDelta({ q: 1 })),
          store.applyDelta('a', dataDelta({ x: 2 }, ['keep'], T0 + 20)),
          store.applyDelta('old', dataDelta({ back: true })),
        ]);
        expect(sent.filter((text) => text.includes('UPDATE'))).toHaveLength(1);
        expect(results).toEqual([4, 8, 5, null, 6, null]);
        const a = await store.get('a');
        expect([a?.version, a?.data, a?.lastSeenAt]).toEqual([6, { z: 1, x: 2 }, T0 + 20]);
        const b = await store.get('b');
        expect([b?.version, b?.data, b?.lastSeenAt]).toEqual([8, { y: 1 }, T0 + 50]);
        // The expired row is not brought back.
        const old = await pool.query<{ record: string; version: string }>(`SELECT record, version FROM "${tableName}" WHERE key = 'old'`);
        expect(old.rows[0]?.version).toBe('1');
        expect(JSON.parse(old.rows[0]!.record).data).toEqual({ stale: true });
      });

      it('sends the delta of a row PostgreSQL cannot read as jsonb to compare-and-set, and applies the rest of its batch', async () => {
        const { store } = counted();
        // TEXT keeps a \u0000 escape that jsonb refuses: the batch statement fails on this row.
        await store.set('nul', record({ version: 1, data: { s: 'nul:\u0000' } }));
        await store.set('ok', record({ version: 1, data: {} }));
        const results = await Promise.all([store.applyDelta('ok', dataDelta({ a: 1 })), store.applyDelta('nul', dataDelta({ b: 1 })), store.applyDelta('ok', dataDelta({ c: 1 }))]);
        expect(results).toEqual([2, 'unsupported', 3]);
        expect((await store.get('ok'))?.data).toEqual({ a: 1, c: 1 });
        expect((await store.get('nul'))?.data).toEqual({ s: 'nul:\u0000' });
      });

      it('answers unsupported for a delta that sets a \\u0000 jsonb cannot hold, and applies the rest of its batch', async () => {
        const { store } = counted();
        await store.set('ok', record({ version: 1, data: {} }));
        await store.set('other', record({ version: 1, data: {} }));
        const results = await Promise.all([
          store.applyDelta('ok', dataDelta({ a: 1 })),
          store.applyDelta('other', dataDelta({ s: 'nul:\u0000' })),
          store.applyDelta('ok', dataDelta({ b: 1 })),
        ]);
        expect(results).toEqual([2, 'unsupported', 3]);
        expect((await store.get('ok'))?.data).toEqual({ a: 1, b: 1 });
        expect((await store.get('other'))?.data).toEqual({});
      });

      it('lets batches of two processes that share rows wait for each other, never deadlock', async () => {
        const { store: first, sent: firstSent, tableName } = counted();
        const other = new pg.Pool({ connectionString: server.url, max: 10 });
        other.on('error', () => undefined);
        const holder = new pg.Client({ connectionString: server.url });
        await holder.connect();
        try {
          const secondSent: string[] = [];
          const second = new PostgresStore({
            pool: { query: (text: string, values: unknown[]) => (secondSent.push(text), other.query(text, values)) } as never,
            tableName,
            now: () => T0,
            purgeIntervalMs: 0,
          });
          stores.push(second);
          const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
          for (const key of keys) await first.set(key, record({ version: 1, data: {} }));
          // Enough other rows that the planner finds the batch's rows by key, in the batch's order.
          await pool.query(`INSERT INTO "${tableName}" SELECT 'filler' || n, NULL, 1, ${T0 + 3_600_000}, ${T0}, '{}' FROM generate_series(1, 5000) AS n`);
          await pool.query(`ANALYZE "${tableName}"`);
          await second.get('k00'); // its table check done, so that it sends only the batch below
          // Another transaction holds a row in the middle: both batches reach it and wait there.
          // Had each locked rows in the order it was given (one ascending, one descending),
          // each would then hold rows the other needs: a deadlock, which PostgreSQL breaks by
          // failing one of them.
          await holder.query('BEGIN');
          await holder.query(`SELECT 1 FROM "${tableName}" WHERE key = 'k06' FOR UPDATE`);
          firstSent.length = 0;
          secondSent.length = 0;
          const pending = Promise.all([
            ...keys.map((key) => first.applyDelta(key, dataDelta({ first: true }))),
            ...[...keys].reverse().map((key) => second.applyDelta(key, dataDelta({ second: true }))),
          ]);
          for (let waiting = 0; waiting < 2; ) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            const locks = await holder.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
            waiting = Number(locks.rows[0]?.n);
          }
          await holder.query('COMMIT');
          const results = await pending;
          expect(results.every((r) => typeof r === 'number')).toBe(true);
          // One UPDATE each: neither batch failed and fell back to one statement per row.
          expect(firstSent.filter((text) => text.includes('UPDATE'))).toHaveLength(1);
          expect(secondSent.filter((text) => text.includes('UPDATE'))).toHaveLength(1);
          for (const key of keys) {
            const read = await first.get(key);
            expect([read?.version, read?.data]).toEqual([3, { first: true, second: true }]);
          }
        } finally {
          await holder.end().catch(() => undefined);
          await other.end().catch(() => undefined);
        }
      }, 30_000);
    });

    it('keeps every key when 20 parallel requests of one session each set a different key', async () => {
      const store = new PostgresStore({ pool, tableName: newTable(), purgeIntervalMs: 0 });
      stores.push(store);
      expect(await parallelWriters(store, 20)).toEqual(everyWritersKey(20));
    });
  });
}
