/**
 * The tiny client shim of the Redis store: run a Lua script on one key with node-redis v5
 * (`createClient`, `createCluster`) or ioredis (`Redis`, `Cluster`), told apart by shape. The
 * store imports neither library: you pass the client, already configured.
 * @module
 */
import { TesseraError } from '../core/errors.js';
import type { LuaScript } from './redis-scripts.js';

/** Keys and arguments in node-redis v5's `eval`/`evalSha` form. */
export interface NodeRedisEvalOptions {
  keys: string[];
  arguments: string[];
}

/**
 * The part of a node-redis v5 client (`createClient()`) or cluster (`createCluster()`) the store
 * uses. Connect it (`await client.connect()`) before the first request.
 */
export interface NodeRedisLike {
  evalSha(sha1: string, options: NodeRedisEvalOptions): Promise<unknown>;
  eval(script: string, options: NodeRedisEvalOptions): Promise<unknown>;
  /** node-redis v5's graceful shutdown (preferred over the deprecated `quit`). */
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/** The part of an ioredis `Redis` or `Cluster` the store uses. */
export interface IoRedisLike {
  evalsha(sha1: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

/** A node-redis v5 or ioredis client, standalone or cluster. */
export type RedisClientLike = NodeRedisLike | IoRedisLike;

/** What the store needs from a client. */
export interface ScriptRunner {
  /** Which library the client is from. */
  readonly library: 'node-redis' | 'ioredis';
  /**
   * Run `script` on the one key `key` (`EVALSHA`, then `EVAL` if the server does not have the
   * script cached yet). Rejects with the client's own error.
   */
  run(script: LuaScript, key: string, args: readonly string[]): Promise<unknown>;
  /** Close the client gracefully (`close`/`quit`). */
  quit(): Promise<void>;
}

/**
 * Wrap a client, telling node-redis from ioredis by its method names (`evalSha` vs `evalsha`).
 * @throws TesseraError `INVALID_OPTION` for anything else.
 */
export function scriptRunner(client: unknown): ScriptRunner {
  if (isNodeRedis(client)) return nodeRedisRunner(client);
  if (isIoRedis(client)) return ioRedisRunner(client);
  throw new TesseraError(
    'INVALID_OPTION',
    'RedisStore: client must be a node-redis v5 client or cluster (createClient/createCluster) or an ioredis Redis or Cluster',
  );
}

function isNodeRedis(client: unknown): client is NodeRedisLike {
  const c = client as Partial<Record<keyof NodeRedisLike, unknown>> | null;
  return typeof c === 'object' && c !== null && typeof c.evalSha === 'function' && typeof c.eval === 'function';
}

function isIoRedis(client: unknown): client is IoRedisLike {
  const c = client as Partial<Record<keyof IoRedisLike, unknown>> | null;
  return typeof c === 'object' && c !== null && typeof c.evalsha === 'function' && typeof c.eval === 'function';
}

function nodeRedisRunner(client: NodeRedisLike): ScriptRunner {
  return {
    library: 'node-redis',
    async run(script, key, args) {
      const options = { keys: [key], arguments: [...args] };
      try {
        return await client.evalSha(script.sha1, options);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return client.eval(script.source, options);
      }
    },
    async quit() {
      await (client.close ? client.close() : client.quit?.());
    },
  };
}

function ioRedisRunner(client: IoRedisLike): ScriptRunner {
  return {
    library: 'ioredis',
    async run(script, key, args) {
      try {
        return await client.evalsha(script.sha1, 1, key, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return client.eval(script.source, 1, key, ...args);
      }
    },
    async quit() {
      await client.quit();
    },
  };
}

/**
 * Whether an error is Redis's `NOSCRIPT` reply (the script is not in this server's cache, e.g.
 * after a restart, a failover or `SCRIPT FLUSH`). Redis error replies start with their code:
 * matching it is the protocol, not message sniffing.
 */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
