/**
 * An in-process {@link Store} for tests and development: bounded in entries and in bytes,
 * least-recently-used eviction (anonymous sessions first, so a flood of cookie-less visitors
 * never pushes out a signed-in user), expired entries swept by a timer and lazily on access. Nothing survives a restart, and each
 * process has its own sessions, so do not use it behind a load balancer.
 *
 * Every call answers on the next turn of the event loop, as a store across a network does, and
 * as express-session's MemoryStore does (see `next-turn.ts` for why).
 * @module
 */
import { TesseraError, storeUnavailable } from '../core/errors.js';
import type {
  DataDelta,
  DeleteByUserOptions,
  SessionRecord,
  SetOptions,
  Store,
  UserSessionEntry,
} from './types.js';
import { nextTurn } from './next-turn.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most entries kept at once; when full, a write evicts the least recently used entry.
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * Most bytes kept at once, counted as the UTF-8 size of each stored record (its JSON) and key;
   * when full, a write evicts least recently used entries until it fits. Anonymous sessions go
   * before signed-in ones. A single record larger than this is refused.
   * @default 33_554_432 (32 MiB)
   */
  maxBytes?: number;
  /**
   * Period of the expired-entry sweep, in ms. `0` disables the timer (expired entries are still
   * dropped when read). The timer is `unref`'d, so it never keeps the process alive.
   * @default 60_000
   */
  sweepIntervalMs?: number;
  /** The clock, in ms since the Unix epoch. Tests inject a fake one. @default Date.now */
  now?: () => number;
}

/**
 * One stored session is one string, the JSON array `[expiresAt, version, agent, createdAt,
 * authenticatedAt, lastSeenAt, userId, meta, rest, data]` with a newline (JSON whitespace)
 * before `data`: `JSON.stringify` never writes a raw newline, so the first one tells where the
 * data begins. A session costs its key, one flat string and one slot of the map, and no other
 * object:
 * - the six times and counters come first, none with a comma of its own (numbers or `null`):
 *   the expiry and compare-and-set checks read only the start, and a delta or a touch rewrites
 *   them in the text, without decoding the rest of the record;
 * - `agent` is the number of the session's user agent in {@link Agents} (-1 when it is not
 *   there, and `meta` keeps it): the same few browser strings recur in thousands of sessions;
 * - `rest` holds any other field of the record (`0` for none);
 * - the data comes last, after the newline, so that a delta decodes and encodes only the data,
 *   while a read decodes the whole entry in one `JSON.parse`.
 * Fields by position drop the repeated key names. Every read parses the JSON again, so callers
 * never share a mutable object with the store.
 */
type Entry = string;

/** Distinct user agents kept once and referred to by number; at most this many. */
const MAX_AGENTS = 1_000;

/** User agent strings, interned for {@link Entry}. Bounded: later ones stay inline. */
class Agents {
  readonly #ids = new Map<string, number>();
  readonly #list: string[] = [];

  /** The number of an agent string, or -1 if it is not kept (and the table is full). */
  idOf(agent: string): number {
    let id = this.#ids.get(agent);
    if (id === undefined) {
      if (this.#list.length >= MAX_AGENTS) return -1;
      id = this.#list.push(agent) - 1;
      this.#ids.set(agent, id);
    }
    return id;
  }

  get(id: number): string | undefined {
    return this.#list[id];
  }
}

/** The fields of an {@link Entry}, by position. */
type Positional = [
  expiresAt: number,
  version: number,
  agent: number,
  createdAt: number,
  authenticatedAt: number | null,
  lastSeenAt: number,
  userId: string | null,
  meta: SessionRecord['meta'],
  rest: Partial<SessionRecord> | 0,
  data: SessionRecord['data'],
];

/** The record fields an {@link Entry} keeps by position; any other goes in `rest`. */
const POSITIONAL_KEYS = new Set(['expiresAt', 'version', 'createdAt', 'authenticatedAt', 'lastSeenAt', 'userId', 'data', 'meta']);

/** `expiresAt` of an entry, read from its start. */
function expiresAtOf(entry: Entry): number {
  return Number(entry.slice(1, entry.indexOf(',')));
}

/** `version` of an entry, read from its start. */
function versionOf(entry: Entry): number {
  const start = entry.indexOf(',') + 1;
  return Number(entry.slice(start, entry.indexOf(',', start)));
}

/** Where the first `count` commas of an entry are (its leading fields have none of their own). */
function commasOf(entry: Entry, count: number): number[] {
  const commas: number[] = [];
  for (let at = -1; commas.length < count; ) commas.push((at = entry.indexOf(',', at + 1)));
  return commas;
}

/** `lastSeenAt` of an entry: its sixth field. */
function lastSeenAtOf(entry: Entry): number {
  const [, , , , fifth, sixth] = commasOf(entry, 6);
  return Number(entry.slice(fifth! + 1, sixth));
}

/** The text of an entry with new `expiresAt`, `version` and `lastSeenAt`, all else as it was. */
function withTimes(entry: Entry, expiresAt: number, version: number, lastSeenAt: number): Entry {
  // `[expiresAt,version,agent,createdAt,authenticatedAt,lastSeenAt,...`: keep what lies between
  // the 2nd and the 5th comma, and from the 6th on.
  const [, second, , , fifth, sixth] = commasOf(entry, 6);
  return `[${JSON.stringify(expiresAt)},${JSON.stringify(version)}${entry.slice(second, fifth! + 1)}${JSON.stringify(lastSeenAt)}${entry.slice(sixth)}`;
}

/**
 * A bounded in-memory session store.
 * @example
 * const store = new MemoryStore({ maxEntries: 1_000 });
 */
export class MemoryStore implements Store {
  /** Entries in least- to most-recently-used order (a `Map` iterates in insertion order). */
  readonly #entries = new Map<string, Entry>();
  /** userId → keys of that user's entries. Kept in step with `#entries` by `#put` and `#remove`. */
  readonly #byUser = new Map<string, Set<string>>();
  /** key → userId, for the entries of signed-in users only. */
  readonly #userOf = new Map<string, string>();
  /** Keys of anonymous entries, least- to most-recently-used: evicted first. */
  readonly #anonymous = new Map<string, true>();
  readonly #agents = new Agents();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  /** Bytes of the entries kept (UTF-8 of key and entry). */
  #bytes = 0;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const { maxEntries = 10_000, maxBytes = 32 * 1024 * 1024, sweepIntervalMs = 60_000, now = Date.now } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: maxEntries must be a positive integer');
    }
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: maxBytes must be an integer of at least 1024');
    }
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: sweepIntervalMs must be a number >= 0');
    }
    if (typeof now !== 'function') {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: now must be a function');
    }
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#now = now;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
  }

  /** Bytes kept, counted as {@link MemoryStoreOptions.maxBytes} counts them (expired entries included until swept). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of live entries. Sweeps expired entries first, so it costs O(entries). */
  get size(): number {
    this.sweep();
    return this.#entries.size;
  }

  /**
   * Drop every expired entry now (the timer calls this every `sweepIntervalMs`).
   * @returns the number of entries dropped.
   */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (expiresAtOf(entry) <= now) {
        this.#remove(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Delete every session. @returns how many live sessions were deleted. */
  async deleteAll(): Promise<number> {
    await nextTurn();
    this.#assertOpen();
    const live = this.size;
    this.clear();
    return live;
  }

  /** Drop every entry, live or not. */
  clear(): void {
    this.#entries.clear();
    this.#anonymous.clear();
    this.#byUser.clear();
    this.#userOf.clear();
    this.#bytes = 0;
  }

  async get(key: string): Promise<SessionRecord | null> {
    await nextTurn();
    this.#assertOpen();
    const entry = this.#live(key);
    if (!entry) return null;
    this.#touchLru(key, entry);
    return this.#decode(entry);
  }

  async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    await nextTurn();
    this.#assertOpen();
    const current = this.#live(key);
    const expect = options?.expectVersion;
    if (expect === null && current !== undefined) return false;
    if (typeof expect === 'number' && (current === undefined || versionOf(current) !== expect)) return false;
    // A record that is already expired is written as "absent": keep nothing for it.
    if (record.expiresAt <= this.#now()) {
      if (current !== undefined) this.#remove(key);
    } else {
      this.#put(key, this.#encode(record), record.userId);
    }
    return true;
  }

  async applyDelta(key: string, delta: DataDelta): Promise<number | null> {
    await nextTurn();
    this.#assertOpen();
    const entry = this.#live(key);
    if (entry === undefined) return null;
    // Only the data is decoded (from after the newline to the closing bracket); the times are
    // rewritten in the text.
    const newline = entry.indexOf('\n');
    const data = JSON.parse(entry.slice(newline + 1, -1)) as Record<string, unknown>;
    for (const name of delta.remove) delete data[name];
    for (const name of Object.keys(delta.set)) {
      // A key named `__proto__` is data like any other: define it, never call the setter.
      if (name === '__proto__') Object.defineProperty(data, name, { value: delta.set[name], enumerable: true, writable: true, configurable: true });
      else data[name] = delta.set[name];
    }
    const version = versionOf(entry) + 1;
    const head = withTimes(entry.slice(0, newline + 1), Math.max(expiresAtOf(entry), delta.expiresAt), version, Math.max(lastSeenAtOf(entry), delta.lastSeenAt));
    this.#replace(key, entry, `${head}${JSON.stringify(data)}]`);
    return version;
  }

  async delete(key: string): Promise<void> {
    await nextTurn();
    this.#assertOpen();
    if (this.#entries.has(key)) this.#remove(key);
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    await nextTurn();
    this.#assertOpen();
    const entry = this.#live(key);
    if (entry === undefined) return false;
    // Nothing is decoded: the two times are rewritten in the text.
    this.#replace(key, entry, withTimes(entry, expiresAt, versionOf(entry), lastSeenAt));
    return true;
  }

  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    await nextTurn();
    this.#assertOpen();
    const result: UserSessionEntry[] = [];
    for (const key of [...(this.#byUser.get(userId) ?? [])]) {
      const entry = this.#live(key);
      if (entry !== undefined) result.push({ key, record: this.#decode(entry) });
    }
    return result;
  }

  async deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    await nextTurn();
    this.#assertOpen();
    let deleted = 0;
    for (const key of [...(this.#byUser.get(userId) ?? [])]) {
      if (key === options?.exceptKey) continue;
      if (this.#live(key) !== undefined) deleted++; // #live already dropped it if expired
      if (this.#entries.has(key)) this.#remove(key);
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw storeUnavailable(new Error('MemoryStore is closed'));
  }

  /** The entry under `key` if it is live; drops it if it has expired. */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && expiresAtOf(entry) <= this.#now()) {
      this.#remove(key);
      return undefined;
    }
    return entry;
  }

  /** Move an entry to the most recently used end. */
  #touchLru(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#anonymous.delete(key)) this.#anonymous.set(key, true);
  }

  /**
   * Insert or replace as most recently used, evicting least recently used entries (anonymous
   * ones first) while it would not fit.
   */
  #put(key: string, entry: Entry, userId: string | null): void {
    const size = sizeOf(key, entry);
    if (size > this.#maxBytes) {
      throw storeUnavailable(new Error(`MemoryStore: a record of ${size} bytes is larger than maxBytes (${this.#maxBytes})`));
    }
    if (this.#entries.has(key)) this.#remove(key);
    while (this.#entries.size > 0 && (this.#entries.size >= this.#maxEntries || this.#bytes + size > this.#maxBytes)) {
      const victim = this.#anonymous.keys().next();
      this.#remove(victim.done === true ? (this.#entries.keys().next().value as string) : victim.value);
    }
    this.#entries.set(key, entry);
    this.#bytes += size;
    if (userId === null) {
      this.#anonymous.set(key, true);
    } else {
      this.#userOf.set(key, userId);
      let keys = this.#byUser.get(userId);
      if (!keys) this.#byUser.set(userId, (keys = new Set()));
      keys.add(key);
    }
  }

  /**
   * Replace a live entry by a new one of the same session (same user: deltas and touches never
   * change it), as most recently used, evicting others while it would not fit.
   */
  #replace(key: string, entry: Entry, next: Entry): void {
    const size = sizeOf(key, next);
    if (size > this.#maxBytes) {
      throw storeUnavailable(new Error(`MemoryStore: a record of ${size} bytes is larger than maxBytes (${this.#maxBytes})`));
    }
    this.#bytes -= sizeOf(key, entry);
    // Out of the way of eviction while room is made, then back as most recently used.
    this.#entries.delete(key);
    const anonymous = this.#anonymous.delete(key);
    while (this.#entries.size > 0 && this.#bytes + size > this.#maxBytes) {
      const victim = this.#anonymous.keys().next();
      this.#remove(victim.done === true ? (this.#entries.keys().next().value as string) : victim.value);
    }
    this.#entries.set(key, next);
    if (anonymous) this.#anonymous.set(key, true);
    this.#bytes += size;
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= sizeOf(key, entry);
    if (this.#anonymous.delete(key)) return;
    const userId = this.#userOf.get(key);
    if (userId === undefined) return;
    this.#userOf.delete(key);
    const keys = this.#byUser.get(userId);
    keys?.delete(key);
    if (keys?.size === 0) this.#byUser.delete(userId);
  }

  #encode(record: SessionRecord): Entry {
    const meta = record.meta;
    const agent = typeof meta.userAgent === 'string' ? this.#agents.idOf(meta.userAgent) : -1;
    let otherMeta: SessionRecord['meta'] = meta;
    if (agent !== -1) {
      otherMeta = {};
      for (const key in meta) if (key !== 'userAgent') (otherMeta as Record<string, unknown>)[key] = (meta as Record<string, unknown>)[key];
    }
    let rest: Record<string, unknown> | 0 = 0;
    for (const key in record) {
      if (!POSITIONAL_KEYS.has(key)) (rest ||= {})[key] = (record as unknown as Record<string, unknown>)[key];
    }
    const { expiresAt, version, createdAt, authenticatedAt, lastSeenAt, userId, data } = record;
    const head = JSON.stringify([expiresAt, version, agent, createdAt, authenticatedAt, lastSeenAt, userId, otherMeta, rest]);
    return `${head.slice(0, -1)},\n${JSON.stringify(data)}]`;
  }

  #decode(entry: Entry): SessionRecord {
    const [expiresAt, version, agent, createdAt, authenticatedAt, lastSeenAt, userId, meta, rest, data] = JSON.parse(entry) as Positional;
    const record: SessionRecord = {
      version,
      createdAt,
      authenticatedAt,
      lastSeenAt,
      expiresAt,
      userId,
      data,
      meta: agent === -1 ? meta : { userAgent: this.#agents.get(agent)!, ...meta },
    };
    return rest === 0 ? record : Object.assign(record, rest);
  }
}

/**
 * What an entry counts against `maxBytes`: the UTF-8 size of its key and its JSON. Every entry
 * is measured before it is kept, which also flattens it: `JSON.stringify` returns a tree of
 * string pieces (about 140 bytes more than the text, on a record of 220 characters), and V8's
 * garbage collector keeps only the flat copy that measuring the length made.
 */
function sizeOf(key: string, entry: Entry): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(entry, 'utf8');
}
