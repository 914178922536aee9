import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { SqliteStore, type SqliteDatabaseLike } from '../../src/store/sqlite.js';
import { isSessionRecord, type SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { sampleRecord } from '../helpers/records.js';
import { catchError } from '../helpers/errors.js';

runStoreConformance(
  'SqliteStore (better-sqlite3, :memory:)',
  ({ now }) => ({ store: new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 }) }),
  { framework: { describe, it } },
);

// node:sqlite exists from Node 22.5; the variable keeps TypeScript from resolving the name.
const nodeSqliteName = 'node:sqlite';
const nodeSqlite = (await import(nodeSqliteName).catch(() => null)) as {
  DatabaseSync: new (path: string) => SqliteDatabaseLike;
} | null;
// The same suite on Node's own driver. node:sqlite exists from Node 22.5 and this project
// supports Node 20: there the cases are registered skipped (their bodies unchanged, the reason in
// the name), not failed, since it is the runtime and not the machine that lacks it.
runStoreConformance(
  nodeSqlite ? 'SqliteStore (node:sqlite DatabaseSync handle)' : `SqliteStore (node:sqlite DatabaseSync handle) [skipped: node:sqlite needs Node 22.5+, this is ${process.versions.node}]`,
  ({ now }) => {
    if (nodeSqlite === null) throw new Error('node:sqlite is not available');
    const database = new nodeSqlite.DatabaseSync(':memory:');
    return { store: new SqliteStore({ database, now, purgeIntervalMs: 0 }), cleanup: () => void database.close() };
  },
  { framework: { describe: nodeSqlite ? describe : describe.skip, it } },
);

const T0 = 1_700_000_000_000;
const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => sampleRecord(overrides, T0);


describe('SqliteStore', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const open = (options: ConstructorParameters<typeof SqliteStore>[0]): SqliteStore => {
    const store = new SqliteStore({ purgeIntervalMs: 0, ...options });
    cleanups.push(() => store.close());
    return store;
  };

  it('keeps sessions across close and reopen of a file database', async () => {
    const database = join(tempDir(), 'sessions.db');
    const first = new SqliteStore({ database, now: () => T0 });
    await first.set('k', record({ userId: 'alice', data: { kept: true } }));
    await first.close();
    const second = open({ database, now: () => T0 });
    expect((await second.get('k'))?.data).toEqual({ kept: true });
    expect((await second.listByUser('alice')).map((e) => e.key)).toEqual(['k']);
  });

  it('opens file databases in WAL mode with a busy timeout', async () => {
    const store = open({ database: join(tempDir(), 'wal.db'), busyTimeoutMs: 1_234 });
    await store.get('warm-up');
    expect(store.database.prepare('PRAGMA journal_mode').all()).toEqual([{ journal_mode: 'wal' }]);
    expect(store.database.prepare('PRAGMA busy_timeout').all()).toEqual([{ timeout: 1_234 }]);
  });

  it('reads a row with a corrupt record column as undecodable (version -1) and leaves it out of lists', async () => {
    const store = open({ database: ':memory:', now: () => T0 });
    await store.set('bad-json', record({ userId: 'alice' }));
    await store.set('bad-shape', record({ userId: 'alice' }));
    await store.set('good', record({ userId: 'alice' }));
    store.database.prepare(`UPDATE tessera_sessions SET record = '{"version":' WHERE key = 'bad-json'`).run();
    store.database.prepare(`UPDATE tessera_sessions SET record = '{"data":[]}' WHERE key = 'bad-shape'`).run();
    expect((await store.get('bad-json'))?.version).toBe(-1);
    // Valid JSON of the wrong shape: the store hands it over, the engine refuses it.
    expect(isSessionRecord(await store.get('bad-shape'))).toBe(false);
    expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['good']);
  });

  it('answers a delta on a row whose record is not JSON as no session, without failing or merging into it', async () => {
    const store = open({ database: ':memory:', now: () => T0 });
    await store.set('bad-json', record({ data: { a: 1 } }));
    store.database.prepare(`UPDATE tessera_sessions SET record = '{"version":' WHERE key = 'bad-json'`).run();
    expect(await store.applyDelta('bad-json', { set: { b: 2 }, remove: [], lastSeenAt: T0, expiresAt: T0 + 60_000 })).toBeNull();
    expect(store.database.prepare(`SELECT record FROM tessera_sessions WHERE key = 'bad-json'`).all()).toEqual([{ record: '{"version":' }]);
  });

  it.each(['', '1sessions', 'sessions; DROP TABLE users', 'a"b', 'a-b', 'schema.table', 'x'.repeat(49)])(
    'rejects the unsafe table name %j at construction',
    (tableName) => {
      const error = catchError(() => new SqliteStore({ database: ':memory:', tableName }));
      expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
    },
  );

  it('creates and uses the table named by tableName', async () => {
    const store = open({ database: ':memory:', tableName: 'My_Sessions_2', now: () => T0 });
    await store.set('k', record());
    const tables = store.database.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all();
    expect(tables).toEqual([{ name: 'My_Sessions_2' }]);
    expect(await store.get('k')).not.toBeNull();
  });

  it('purges expired rows in batches of purgeBatchSize and keeps live rows', async () => {
    let now = T0;
    const store = open({ database: ':memory:', purgeBatchSize: 2, now: () => now });
    for (let i = 0; i < 5; i++) await store.set(`old${i}`, record({ expiresAt: T0 + 10 }));
    await store.set('live', record({ expiresAt: T0 + 60_000 }));
    now = T0 + 10;
    const count = () => store.database.prepare('SELECT count(*) AS n FROM tessera_sessions').all();
    expect(await store.purgeExpired({ maxBatches: 1 })).toBe(2);
    expect(count()).toEqual([{ n: 4 }]);
    expect(await store.purgeExpired()).toBe(3);
    expect(count()).toEqual([{ n: 1 }]);
    expect(await store.get('live')).not.toBeNull();
  });

  it('purges expired rows on its timer', async () => {
    let now = T0;
    const store = open({ database: ':memory:', purgeIntervalMs: 10, now: () => now });
    await store.set('old', record({ expiresAt: T0 + 10 }));
    now = T0 + 10;
    const count = () => store.database.prepare('SELECT count(*) AS n FROM tessera_sessions').all();
    await expect.poll(count, { timeout: 2_000 }).toEqual([{ n: 0 }]);
  });

  it('uses a handle passed in as is and leaves it open on close', async () => {
    const database = new Database(':memory:');
    cleanups.push(() => database.close());
    const store = new SqliteStore({ database, now: () => T0 });
    await store.set('k', record());
    await store.close();
    expect(database.open).toBe(true);
    expect(database.prepare('SELECT key FROM tessera_sessions').all()).toEqual([{ key: 'k' }]);
  });

  it('rejects with STORE_UNAVAILABLE naming the missing table when createTable is false (never shown to clients)', async () => {
    const store = open({ database: ':memory:', createTable: false });
    const error = await store.get('k').catch((err: unknown) => err);
    expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
    // The operator needs to know why; the driver's error is the cause, and clients never see either.
    expect((error as Error).message).toContain('tessera_sessions');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as { expose?: unknown }).expose).toBe(false);
  });

  it('rejects a missing or unusable database option at construction', () => {
    for (const database of [undefined, '', 42, {}]) {
      const options = { database } as unknown as ConstructorParameters<typeof SqliteStore>[0];
      expect(isTesseraError(catchError(() => new SqliteStore(options)), 'INVALID_OPTION')).toBe(true);
    }
  });

  it('rejects a database path that cannot be opened at construction', () => {
    const database = join(tempDir(), 'missing-dir', 'sessions.db');
    expect(isTesseraError(catchError(() => new SqliteStore({ database })), 'INVALID_OPTION')).toBe(true);
  });
});

describe('SqliteStore durability of deletes', () => {
  // A power loss cannot be staged here (it takes a disk that drops unsynced writes), so this
  // watches the real database handle: each statement records the synchronous level it ran at.
  function watched(db: Database.Database): { handle: SqliteDatabaseLike; levels: Array<[sql: string, level: number]> } {
    const levels: Array<[string, number]> = [];
    const level = (): number => Number((db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous);
    const handle: SqliteDatabaseLike = {
      prepare(sql) {
        const statement = db.prepare(sql);
        return {
          all: (...params) => statement.all(...params),
          run: (...params) => {
            levels.push([sql.trim().split(/\s+/)[0]!.toUpperCase(), level()]);
            return statement.run(...params);
          },
        };
      },
      exec: (sql) => db.exec(sql),
      close: () => db.close(),
    };
    return { handle, levels };
  }

  it('runs deletes (sign-out, revoke, sign out everywhere) at synchronous=FULL and writes at the level set (NORMAL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-durable-'));
    const db = new Database(join(dir, 'sessions.db'));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const { handle, levels } = watched(db);
      const store = new SqliteStore({ database: handle, now: () => T0, purgeIntervalMs: 0 });
      await store.set('a', record({ userId: 'alice' }));
      await store.set('b', record({ userId: 'alice' }));
      await store.set('c', record({ userId: 'alice' }));
      levels.length = 0;
      await store.set('a', record({ userId: 'alice', version: 2 }), { expectVersion: 1 });
      await store.delete('a');
      await store.deleteByUser('alice', { exceptKey: 'b' });
      await store.deleteByUser('alice');
      const NORMAL = 1;
      const FULL = 2;
      expect(levels).toEqual([
        ['UPDATE', NORMAL],
        ['DELETE', FULL],
        ['DELETE', FULL],
        ['DELETE', FULL],
      ]);
      // The app's own level is put back.
      expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
      expect(await store.get('b')).toBeNull();
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
