/**
 * A {@link Store} on Redis (node-redis v5 or ioredis, standalone or Redis Cluster): one hash per
 * session with a native TTL, compare-and-set in a Lua script, and a per-user index in its own
 * key. Key layout and scripts: see `./redis-scripts.js`.
 *
 * ## Redis Cluster and the per-user index
 * Every command and script touches one key, so the store runs unchanged on a cluster, where a
 * session and its user's index usually live in different hash slots (on different nodes). The
 * index is therefore written by a separate command, and the store keeps one rule:
 * **a user's index always covers every live session of that user.**
 * - Writes add or extend the index entry *before* writing the session, and the session records
 *   how far its entry reaches (`i`). A crash between the two leaves an extra index entry, never
 *   a session missing from `listByUser`/`deleteByUser` ("sign out everywhere").
 * - Index entries are scored by the time until which they must be kept and dropped only after
 *   that time (or by the store itself right after it deleted the session, and then only if no
 *   one re-indexed the session meanwhile).
 * - So an index may hold stale entries (a crash, a session that moved to another user, or
 *   expired). `listByUser` and `deleteByUser` check each entry against the session itself (live,
 *   same user) and ignore stale ones; they drop out of the index when their score passes.
 *
 * Entries reach a little past the session's expiry (the remaining lifetime again, at most a
 * day), so most touches and writes are a single script call.
 * @module
 */
import { TesseraError, storeUnavailable } from '../core/errors.js';
import { scriptRunner, type RedisClientLike, type ScriptRunner } from './redis-client.js';
import {
  DELTA,
  INDEX_ADD,
  INDEX_LIST,
  INDEX_REMOVE,
  NEEDS_INDEX,
  READ,
  REMOVE,
  TOUCH,
  UNSUPPORTED,
  WRITE,
  type LuaScript,
} from './redis-scripts.js';
import type {
  DataDelta,
  DeleteByUserOptions,
  SessionRecord,
  SetOptions,
  Store,
  UserSessionEntry,
} from './types.js';
import { decodeRecord, isSessionRecord, undecodableRecord } from './types.js';

export type { IoRedisLike, NodeRedisEvalOptions, NodeRedisLike, RedisClientLike } from './redis-client.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected node-redis v5 client (`createClient()` then `await client.connect()`) or cluster
   * (`createCluster()`), or an ioredis `Redis` or `Cluster`. Listen for its `'error'` events:
   * node-redis throws them when nobody listens, which would take the process down on an outage.
   */
  client: RedisClientLike;
  /**
   * Prefix of every key the store writes: `<prefix>session:<key>` and `<prefix>user:<userId>`.
   * A hash tag in it (`{...}`) would put every session in one cluster slot.
   * @default 'tessera:'
   */
  prefix?: string;
  /**
   * Whether {@link RedisStore.close} also closes the client. By default the client is yours:
   * you created it, you close it.
   * @default false
   */
  closeClient?: boolean;
  /** The clock, in ms since the Unix epoch: records with `expiresAt <= now()` are absent. @default Date.now */
  now?: () => number;
}

/** How far past its session's expiry an index entry reaches, at most, in ms (one day). */
const MAX_INDEX_HEADROOM_MS = 86_400_000;

/** How many times a touch re-extends the index when the session's user keeps changing. */
const MAX_TOUCH_ATTEMPTS = 3;

/**
 * A {@link Store} on Redis or Redis Cluster. Each operation is one Lua script on one key, plus
 * one index script when a user's index must move first (sign-in, or a touch past the entry's
 * reach); `listByUser`/`deleteByUser` read the index, then each session. The client is yours:
 * {@link RedisStore.close} leaves it open unless `closeClient` is set.
 * @example
 * import { createClient } from 'redis';
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (error) => logger.warn(error));
 * await client.connect();
 * const store = new RedisStore({ client, prefix: 'myapp:sess:' });
 */
export class RedisStore implements Store {
  /** The key prefix in use. */
  readonly prefix: string;
  readonly #redis: ScriptRunner;
  readonly #now: () => number;
  readonly #closeClient: boolean;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TesseraError('INVALID_OPTION', 'RedisStore: an options object with a client is required');
    }
    const { prefix = 'tessera:', closeClient = false, now = Date.now } = options;
    if (typeof prefix !== 'string') throw new TesseraError('INVALID_OPTION', 'RedisStore: prefix must be a string');
    if (typeof closeClient !== 'boolean') {
      throw new TesseraError('INVALID_OPTION', 'RedisStore: closeClient must be a boolean');
    }
    if (typeof now !== 'function') throw new TesseraError('INVALID_OPTION', 'RedisStore: now must be a function');
    this.#redis = scriptRunner(options.client);
    this.prefix = prefix;
    this.#now = now;
    this.#closeClient = closeClient;
  }

  /** The Redis key of a session (a hash). */
  sessionKey(key: string): string {
    return `${this.prefix}session:${key}`;
  }

  /** The Redis key of a user's index (a sorted set of session keys). */
  userKey(userId: string): string {
    return `${this.prefix}user:${userId}`;
  }

  async get(key: string): Promise<SessionRecord | null> {
    let reply: unknown;
    try {
      reply = await this.#run(READ, this.sessionKey(key), []);
    } catch (error) {
      // Something else than a session hash sits under the key (a string someone SET): corrupt
      // data, not an outage. Redis error replies start with their code; matching it is the protocol.
      if (isWrongType(error)) return undecodableRecord();
      throw error;
    }
    return toRecord(reply, this.#now());
  }

  async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    const now = this.#now();
    const ttlMs = Math.ceil(record.expiresAt - now);
    const userId = ttlMs > 0 ? record.userId : null; // an expired record is written as absent
    const expect = options?.expectVersion;
    const mode = expect === undefined ? 'any' : expect === null ? 'create' : 'version';
    const { data, ...fields } = record;
    const json = JSON.stringify(fields);
    const dataFields = dataPairs(Object.entries(data));
    const write = (indexed: string) =>
      this.#run(WRITE, this.sessionKey(key), [
        mode,
        String(expect ?? ''),
        String(now),
        String(ttlMs),
        String(record.version),
        json,
        String(record.lastSeenAt),
        String(record.expiresAt),
        userId ?? '',
        indexed,
        userId === null ? '0' : '1',
        ...dataFields,
      ]);
    // A new session always needs its index entry: add it first and save a round trip.
    let indexed = userId !== null && expect === null ? await this.#index(userId, key, record.expiresAt, now) : '';
    let reply = await write(indexed);
    if (reply === NEEDS_INDEX && userId !== null) {
      indexed = await this.#index(userId, key, record.expiresAt, now);
      reply = await write(indexed);
    }
    if (reply !== 0 && reply !== 1) throw unexpected(WRITE, reply);
    return reply === 1;
  }

  async delete(key: string): Promise<void> {
    const removed = removal(await this.#run(REMOVE, this.sessionKey(key), [String(this.#now()), '0', '']));
    if (removed.userId !== null && removed.indexed !== null) {
      await this.#run(INDEX_REMOVE, this.userKey(removed.userId), [key, removed.indexed]);
    }
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    const reply = await this.#runIndexed(TOUCH, key, lastSeenAt, expiresAt, []);
    if (reply !== 0 && reply !== 1) throw unexpected(TOUCH, reply);
    return reply === 1;
  }


  /**
   * One script: `HDEL`/`HSET` of the changed keys' fields, `HINCRBY` of the version. A session
   * written by an earlier version of this store (its data inside the record's JSON) answers
   * `'unsupported'`, and the engine's compare-and-set rewrites it in the current layout.
   */
  async applyDelta(key: string, delta: DataDelta): Promise<number | null | 'unsupported'> {
    const changes = [String(delta.remove.length), ...delta.remove, ...dataPairs(Object.entries(delta.set))];
    const reply = await this.#runIndexed(DELTA, key, delta.lastSeenAt, delta.expiresAt, changes);
    if (reply === 0) return null;
    if (reply === UNSUPPORTED) return 'unsupported';
    if (typeof reply !== 'number' || !Number.isSafeInteger(reply) || reply < 1) throw unexpected(DELTA, reply);
    return reply;
  }


  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const keys = await this.#members(userId);
    const now = this.#now();
    const records = await Promise.all(
      keys.map(async (key) => toRecord(await this.#run(READ, this.sessionKey(key), []), now)),
    );
    const result: UserSessionEntry[] = [];
    records.forEach((record, n) => {
      const key = keys[n];
      if (isSessionRecord(record) && record.userId === userId && key !== undefined) result.push({ key, record });
    });
    return result;
  }

  async deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    const keys = (await this.#members(userId)).filter((key) => key !== options?.exceptKey);
    const now = String(this.#now());
    const removed = await Promise.all(
      keys.map(async (key) => removal(await this.#run(REMOVE, this.sessionKey(key), [now, '1', userId]))),
    );
    const unindex: string[] = [];
    removed.forEach(({ indexed }, n) => {
      const key = keys[n];
      if (indexed !== null && key !== undefined) unindex.push(key, indexed);
    });
    if (unindex.length > 0) await this.#run(INDEX_REMOVE, this.userKey(userId), unindex);
    return removed.filter((r) => r.live).length;
  }

  /**
   * Stop using the client. The client is closed too only with `closeClient: true`; otherwise
   * it stays open for the rest of your app.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#closeClient) return;
    try {
      await this.#redis.quit();
    } catch (error) {
      throw storeUnavailable(error);
    }
  }

  /**
   * Run {@link TOUCH} or {@link DELTA}, which move a session's expiry forward: when the script
   * answers the session's user id (its index does not reach the new expiry), extend that
   * user's index and run it again with the proof, a few times at most.
   * @returns the script's reply other than a user id.
   */
  async #runIndexed(script: LuaScript, key: string, lastSeenAt: number, expiresAt: number, rest: readonly string[]): Promise<unknown> {
    const now = this.#now();
    const args = [String(now), String(lastSeenAt), String(expiresAt), String(Math.ceil(expiresAt - now))];
    let indexed = ['', ''];
    for (let attempt = 0; attempt < MAX_TOUCH_ATTEMPTS; attempt++) {
      const reply = await this.#run(script, this.sessionKey(key), [...args, ...indexed, ...rest]);
      const userId = text(reply);
      if (userId === null) return reply;
      indexed = [await this.#index(userId, key, expiresAt, now), userId];
    }
    throw storeUnavailable(new Error(`RedisStore: the ${script.name} script kept racing with changes of the session user`));
  }

  /** The session keys in a user's index (stale ones included). */
  async #members(userId: string): Promise<string[]> {
    const reply = await this.#run(INDEX_LIST, this.userKey(userId), [String(this.#now())]);
    if (!Array.isArray(reply)) throw unexpected(INDEX_LIST, reply);
    return reply.map(text).filter((key): key is string => key !== null);
  }

  /**
   * Make the user's index reach past `expiresAt` for `key`.
   * @returns the entry's score, to record in the session as proof (`i`).
   */
  async #index(userId: string, key: string, expiresAt: number, now: number): Promise<string> {
    const headroom = Math.min(Math.max(expiresAt - now, 0), MAX_INDEX_HEADROOM_MS);
    const until = Math.ceil(expiresAt + headroom);
    const score = text(await this.#run(INDEX_ADD, this.userKey(userId), [String(now), key, String(until)]));
    if (score === null) throw unexpected(INDEX_ADD, score);
    return score;
  }

  async #run(script: LuaScript, key: string, args: readonly string[]): Promise<unknown> {
    if (this.#closed) throw storeUnavailable(new Error('RedisStore is closed'));
    try {
      return await this.#redis.run(script, key, args);
    } catch (error) {
      throw storeUnavailable(error);
    }
  }
}

/** A reply as text: strings and buffers; `null` for nil (and RESP3's `false`) and anything else. */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return null;
}

/** Data entries as `HSET` argument pairs: key, JSON of the value (`undefined` values left out). */
function dataPairs(entries: ReadonlyArray<[string, unknown]>): string[] {
  const pairs: string[] = [];
  for (const [name, value] of entries) {
    if (value !== undefined) pairs.push(name, JSON.stringify(value));
  }
  return pairs;
}

/**
 * Decode a {@link READ} reply: `null` if absent or expired, {@link undecodableRecord} if
 * corrupt. The usual reply is one JSON text `[v, s, e, r, {data}]`; a hash of the earlier
 * layout comes as a flat list of fields and values (see {@link fromFields}).
 */
function toRecord(reply: unknown, now: number): SessionRecord | null {
  if (reply === null || reply === undefined || reply === false) return null;
  const json = text(reply);
  if (json === null) return fromFields(reply, now);
  let parts: unknown;
  try {
    parts = JSON.parse(json);
  } catch {
    return undecodableRecord();
  }
  if (!Array.isArray(parts) || parts.length !== 5) return undecodableRecord();
  const [version, lastSeenAt, expiresAt, record, data] = parts as [unknown, unknown, unknown, unknown, unknown];
  if (!Number.isSafeInteger(version) || typeof lastSeenAt !== 'number' || !Number.isFinite(lastSeenAt) || typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    return undecodableRecord();
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record) || typeof data !== 'object' || data === null || Array.isArray(data)) {
    return undecodableRecord();
  }
  if (expiresAt <= now) return null;
  // JSON.parse makes every key an own data property, `__proto__` included.
  return { ...(record as SessionRecord), version: version as number, lastSeenAt, expiresAt, data: data as SessionRecord['data'] };
}

/**
 * Decode a hash as a flat list of fields and values (what {@link READ} answers for a hash of
 * the earlier layout, or one missing a field). `v`, `s` and `e` win over the JSON; the data
 * comes from the `d:` fields, or from the JSON when there is no `f`.
 */
function fromFields(reply: unknown, now: number): SessionRecord | null {
  if (!Array.isArray(reply)) return undecodableRecord();
  if (reply.length === 0) return null;
  const hash = new Map<string, string | null>();
  const data: Record<string, unknown> = {};
  for (let n = 0; n + 1 < reply.length; n += 2) {
    const field = text(reply[n]);
    const value = text(reply[n + 1]);
    if (field === null) return undecodableRecord();
    if (!field.startsWith('d:')) {
      hash.set(field, value);
      continue;
    }
    try {
      // Defined, not assigned: a key named `__proto__` is data, not the object's prototype.
      Object.defineProperty(data, field.slice(2), { value: JSON.parse(value ?? ''), enumerable: true, writable: true, configurable: true });
    } catch {
      return undecodableRecord();
    }
  }
  const json = hash.get('r');
  if (json === null || json === undefined) return undecodableRecord();
  const record = decodeRecord(json);
  if (record.version === -1) return record;
  const fields = { version: Number(hash.get('v')), lastSeenAt: Number(hash.get('s')), expiresAt: Number(hash.get('e')) };
  if (!Number.isSafeInteger(fields.version) || !Number.isFinite(fields.lastSeenAt) || !Number.isFinite(fields.expiresAt)) {
    return undecodableRecord();
  }
  if (fields.expiresAt <= now) return null;
  return hash.get('f') === '1' ? { ...record, ...fields, data } : { ...record, ...fields };
}

function isWrongType(error: unknown): boolean {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error && cause.message.startsWith('WRONGTYPE');
}

/** What a {@link REMOVE} deleted. */
interface Removal {
  /** Whether the session was live (counts as a deleted session). */
  live: boolean;
  /** Its user, if it had one and was deleted. */
  userId: string | null;
  /** Its index entry's score, if it had one and was deleted. */
  indexed: string | null;
}

function removal(reply: unknown): Removal {
  if (!Array.isArray(reply)) throw unexpected(REMOVE, reply);
  const [deleted, live, userId, indexed] = reply as unknown[];
  if (deleted !== 1) return { live: false, userId: null, indexed: null };
  return { live: live === 1, userId: text(userId), indexed: text(indexed) };
}

function unexpected(script: LuaScript, reply: unknown): TesseraError {
  const shape = Array.isArray(reply) ? 'array' : typeof reply;
  return storeUnavailable(new Error(`RedisStore: unexpected reply (${shape}) from the ${script.name} script`));
}
