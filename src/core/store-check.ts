/**
 * What is wrong with a value given as `store`, in words that say what to pass instead: the
 * mistakes people make are a connection string, a class instead of an instance, a database
 * client instead of a store built on it, and an object that is not a store at all.
 * @module
 */
import type { Store } from '../store/types.js';

/** The methods of tessera's Store contract. */
export const STORE_METHODS = ['get', 'set', 'delete', 'touch', 'listByUser', 'deleteByUser', 'close'] as const;
/** The methods every express-session store has. */
const EXPRESS_STORE_METHODS = ['get', 'set', 'destroy'] as const;

/** Whether `value` implements tessera's Store contract. */
export function isStore(value: unknown): value is Store {
  return typeof value === 'object' && value !== null && STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/** Whether `value` has the methods of an express-session store (`get`, `set`, `destroy`). */
export function isExpressStore(value: unknown): boolean {
  return typeof value === 'object' && value !== null && EXPRESS_STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/**
 * Why `value` cannot be used as a store, or `null` when it can.
 * @param option the option's name, for the message (`store`, `migrateFrom`).
 * @param accepts `'tessera'`: only tessera stores; `'express'`: only express-session stores;
 * `'either'`: both (the Express drop-in's `store`).
 */
export function storeProblem(value: unknown, option: string, accepts: 'tessera' | 'express' | 'either'): string | null {
  // A Redis client has get, set and destroy too: it is not an express-session store.
  if (clientKind(value) === null) {
    if (accepts !== 'express' && isStore(value)) return null;
    if (accepts !== 'tessera' && isExpressStore(value)) return null;
  }
  const wanted = {
    tessera: 'a tessera Store (an object with get, set, delete, touch, listByUser, deleteByUser and close), such as new SqliteStore({ database }) or new RedisStore({ client })',
    express: 'an express-session store (an object with get, set and destroy), such as connect-redis or connect-pg-simple',
    either: 'a tessera Store, such as new SqliteStore({ database }) or new RedisStore({ client }), or an express-session store such as connect-redis',
  }[accepts];
  return `${option}: expected ${wanted}; got ${whatItIs(value, accepts)}`;
}

/** A description of a wrong store value, with the likely fix. */
function whatItIs(value: unknown, accepts: 'tessera' | 'express' | 'either'): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return `a string (${JSON.stringify(redact(value).slice(0, 60))}): pass a store object built on a client connected to it`;
  }
  if (typeof value === 'function') {
    const name = value.name === '' ? 'a function' : `the class or function ${value.name}`;
    return `${name}: pass an instance (new ${value.name || 'Store'}(...))`;
  }
  if (typeof value !== 'object') return String(value);
  const object = value as Record<string, unknown>;
  const client = clientKind(value);
  if (client === 'redis') return "a Redis client: wrap it in a store, new RedisStore({ client }) from 'tessera/stores/redis'";
  if (client === 'sql') {
    return "a database client or pool: wrap it in a store, new PostgresStore({ pool }) from 'tessera/stores/postgres' or new MysqlStore({ pool }) from 'tessera/stores/mysql'";
  }
  if (accepts === 'tessera' && isExpressStore(value)) {
    return "an express-session store: wrap it, new LegacyStore(store) from 'tessera/stores/legacy', or use the Express drop-in, which takes it as it is";
  }
  const required = accepts === 'express' ? EXPRESS_STORE_METHODS : STORE_METHODS;
  const missing = required.filter((m) => typeof object[m] !== 'function');
  return missing.length === required.length ? 'an object with none of those methods' : `an object without ${missing.join(', ')}`;
}

/** Whether `value` is a Redis client (node-redis, ioredis) or an SQL client or pool, not a store. */
function clientKind(value: unknown): 'redis' | 'sql' | null {
  if (typeof value !== 'object' || value === null) return null;
  const object = value as Record<string, unknown>;
  if (typeof object['sendCommand'] === 'function' || (typeof object['pipeline'] === 'function' && typeof object['hget'] === 'function')) return 'redis';
  // connect-pg-simple's store has a query method too, beside get and set.
  if (typeof object['query'] === 'function' && typeof object['get'] !== 'function' && typeof object['set'] !== 'function') return 'sql';
  return null;
}

/** A connection string without its credentials. */
function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
}
