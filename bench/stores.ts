/**
 * The session middleware of each contender on each store, configured alike: same secret, same
 * cookie name, `resave: false`, `saveUninitialized: false` (express-session's recommended
 * settings, and tessera's defaults).
 *
 * tessera's Redis and PostgreSQL stores are loaded from `src/store/` only when those files exist
 * ({@link tesseraStoreAvailable}); the driver skips their scenarios otherwise.
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import expressSession from 'express-session';
import tessera from '../src/adapters/express/index.js';
import { MemoryStore } from '../src/store/memory.js';
import { SqliteStore } from '../src/store/sqlite.js';
import type { Store } from '../src/store/types.js';
import { MYSQL_URL, postgresTable, redisPrefix, SECRET, type ServerConfig, type StoreKind } from './config.js';

/** A contender's middleware and how to release its store. */
export interface OpenedStore {
  middleware: RequestHandler;
  close(): Promise<void>;
}

/** `.ts` from the sources (tsx), `.js` in the benchmark build (`build.ts`). */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const SOURCE_FILE: Partial<Record<StoreKind, string>> = {
  redis: `../src/store/redis${EXT}`,
  postgres: `../src/store/postgres${EXT}`,
  mysql: `../src/store/mysql${EXT}`,
};

/** Whether tessera has a store of this kind in `src/store` (Redis and PostgreSQL arrive later). */
export function tesseraStoreAvailable(kind: StoreKind): boolean {
  const file = SOURCE_FILE[kind];
  return file === undefined || existsSync(fileURLToPath(new URL(file, import.meta.url)));
}

/** Import a tessera store module that may not exist when this file is type-checked. */
async function importStore(kind: StoreKind): Promise<Record<string, unknown>> {
  const file = SOURCE_FILE[kind];
  if (file === undefined) throw new Error(`no source file for ${kind}`);
  return (await import(pathToFileURL(fileURLToPath(new URL(file, import.meta.url))).href)) as Record<string, unknown>;
}

type StoreClass = new (options: Record<string, unknown>) => Store;

function storeClass(module: Record<string, unknown>, name: string): StoreClass {
  const value = module[name];
  if (typeof value !== 'function') throw new Error(`the store module has no ${name} export`);
  return value as StoreClass;
}

/** Open the store and build the middleware that a server of `config` runs. */
export async function openStore(config: ServerConfig): Promise<OpenedStore> {
  const common = { secret: SECRET, resave: false, saveUninitialized: false, name: 'connect.sid' };
  const isTessera = config.contender === 'tessera';
  const legacy = config.legacy === true;
  /** express-session on `store`, or (legacy) tessera's drop-in on that same express-session store. */
  const onLegacy = (store: expressSession.Store, close: () => Promise<void>): OpenedStore =>
    legacy ? tesseraOn(store as never, common, close) : { middleware: expressSession({ ...common, store }) as RequestHandler, close };
  switch (config.store) {
    case 'memory': {
      if (isTessera && !legacy) return tesseraOn(new MemoryStore(), common);
      // express-session's own MemoryStore (its default).
      return onLegacy(new expressSession.MemoryStore(), async () => undefined);
    }
    case 'sqlite': {
      const file = config.sqliteFile ?? ':memory:';
      if (isTessera && !legacy) return tesseraOn(new SqliteStore({ database: file }), common);
      // better-sqlite3-session-store: express-session's SQLite store, on the same driver.
      const Database = (await import('better-sqlite3')).default;
      const client = new Database(file);
      client.pragma('journal_mode = WAL');
      const SqliteSessionStore = (await import('better-sqlite3-session-store')).default(expressSession);
      const store = new SqliteSessionStore({ client, expired: { clear: false } });
      return onLegacy(store, async () => void client.close());
    }
    case 'redis': {
      const { createClient } = await import('redis');
      const client = createClient({ url: config.redisUrl ?? 'redis://127.0.0.1:6379' });
      client.on('error', () => undefined);
      await client.connect();
      const prefix = redisPrefix(config.namespace);
      const closeClient = async (): Promise<void> => {
        await client.close();
      };
      if (isTessera && !legacy) {
        const RedisStore = storeClass(await importStore('redis'), 'RedisStore');
        return tesseraOn(new RedisStore({ client, prefix }), common, closeClient);
      }
      const { RedisStore } = await import('connect-redis');
      return onLegacy(new RedisStore({ client, prefix }), closeClient);
    }
    case 'postgres': {
      const pg = await import('pg');
      const pool = new pg.default.Pool({ connectionString: config.postgresUrl, max: 10 });
      pool.on('error', () => undefined);
      const tableName = postgresTable(config.namespace);
      const closePool = async (): Promise<void> => {
        await pool.end();
      };
      if (isTessera && !legacy) {
        const PostgresStore = storeClass(await importStore('postgres'), 'PostgresStore');
        return tesseraOn(new PostgresStore({ pool, tableName }), common, closePool);
      }
      const connectPg = (await import('connect-pg-simple')).default;
      const PgStore = connectPg(expressSession);
      return onLegacy(new PgStore({ pool, tableName, createTableIfMissing: true, pruneSessionInterval: false }), closePool);
    }
    case 'mysql': {
      const mysql = await import('mysql2/promise');
      const tableName = postgresTable(config.namespace);
      const uri = config.mysqlUrl ?? MYSQL_URL;
      if (isTessera && !legacy) {
        const MysqlStore = storeClass(await importStore('mysql'), 'MysqlStore');
        return tesseraOn(new MysqlStore({ uri, poolOptions: { connectionLimit: 10 }, tableName }), common);
      }
      const pool = mysql.createPool({ uri, connectionLimit: 10 });
      const MySQLStore = (await import('express-mysql-session')).default(expressSession);
      const store = new MySQLStore({ clearExpired: false, createDatabaseTable: true, schema: { tableName } }, pool);
      // It creates its table in the background: the first requests must not come before it.
      await (store as unknown as { onReady(): Promise<void> }).onReady();
      return onLegacy(store, async () => void (await pool.end()));
    }
  }
}

function tesseraOn(
  store: Store,
  common: { secret: string; resave: boolean; saveUninitialized: boolean; name: string },
  closeClient: () => Promise<void> = async () => undefined,
): OpenedStore {
  const middleware = tessera({ ...common, store });
  return {
    middleware: middleware as unknown as RequestHandler,
    async close() {
      await middleware.engine.close();
      await closeClient();
    },
  };
}
