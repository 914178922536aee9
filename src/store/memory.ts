/**
 * An in-process {@link Store} for tests and development: bounded, least-recently-used eviction,
 * expired entries swept by a timer and lazily on access. Nothing survives a restart, and each
 * process has its own sessions, so do not use it behind a load balancer.
 * @module
 */
import { TesseraError, storeUnavailable } from '../core/errors.js';
import type {
  DeleteByUserOptions,
  SessionRecord,
  SetOptions,
  Store,
  UserSessionEntry,
} from './types.js';
import { encodeRecord } from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most entries kept at once; when full, a write evicts the least recently used entry.
   * @default 10_000
   */
  maxEntries?: number;
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
 * One stored session. The record is kept as its JSON text, which is compact (one string per
 * session) and guarantees that callers never share a mutable object with the store; the fields
 * the store needs for its own bookkeeping are copied out of it.
 */
interface Entry {
  readonly text: string;
  readonly version: number;
  readonly expiresAt: number;
  readonly userId: string | null;
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
  readonly #maxEntries: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const { maxEntries = 10_000, sweepIntervalMs = 60_000, now = Date.now } = options;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: maxEntries must be a positive integer');
    }
    if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 0) {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: sweepIntervalMs must be a number >= 0');
    }
    if (typeof now !== 'function') {
      throw new TesseraError('INVALID_OPTION', 'MemoryStore: now must be a function');
    }
    this.#maxEntries = maxEntries;
    this.#now = now;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
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
      if (entry.expiresAt <= now) {
        this.#remove(key, entry);
        dropped++;
      }
    }
    return dropped;
  }

  /** Delete every session. @returns how many live sessions were deleted. */
  async deleteAll(): Promise<number> {
    this.#assertOpen();
    const live = this.size;
    this.clear();
    return live;
  }

  /** Drop every entry, live or not. */
  clear(): void {
    this.#entries.clear();
    this.#byUser.clear();
  }

  async get(key: string): Promise<SessionRecord | null> {
    this.#assertOpen();
    const entry = this.#live(key);
    if (!entry) return null;
    this.#put(key, entry); // mark as most recently used
    return JSON.parse(entry.text) as SessionRecord;
  }

  async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    this.#assertOpen();
    const current = this.#live(key);
    const expect = options?.expectVersion;
    if (expect === null && current) return false;
    if (typeof expect === 'number' && current?.version !== expect) return false;
    const entry: Entry = {
      text: encodeRecord(record),
      version: record.version,
      expiresAt: record.expiresAt,
      userId: record.userId,
    };
    // A record that is already expired is written as "absent": keep nothing for it.
    if (entry.expiresAt <= this.#now()) {
      if (current) this.#remove(key, current);
    } else {
      this.#put(key, entry);
    }
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen();
    const entry = this.#entries.get(key);
    if (entry) this.#remove(key, entry);
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    this.#assertOpen();
    const entry = this.#live(key);
    if (!entry) return false;
    const record = JSON.parse(entry.text) as SessionRecord;
    record.lastSeenAt = lastSeenAt;
    record.expiresAt = expiresAt;
    this.#put(key, { ...entry, text: encodeRecord(record), expiresAt });
    return true;
  }

  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    this.#assertOpen();
    const result: UserSessionEntry[] = [];
    for (const key of [...(this.#byUser.get(userId) ?? [])]) {
      const entry = this.#live(key);
      if (entry) result.push({ key, record: JSON.parse(entry.text) as SessionRecord });
    }
    return result;
  }

  async deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    this.#assertOpen();
    let deleted = 0;
    for (const key of [...(this.#byUser.get(userId) ?? [])]) {
      if (key === options?.exceptKey) continue;
      if (this.#live(key)) deleted++; // #live already dropped it if expired
      const entry = this.#entries.get(key);
      if (entry) this.#remove(key, entry);
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
    if (entry && entry.expiresAt <= this.#now()) {
      this.#remove(key, entry);
      return undefined;
    }
    return entry;
  }

  /** Insert or replace as most recently used, evicting least recently used entries if full. */
  #put(key: string, entry: Entry): void {
    const previous = this.#entries.get(key);
    if (previous) this.#remove(key, previous);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.entries().next().value;
      if (!oldest) break;
      this.#remove(oldest[0], oldest[1]);
    }
    this.#entries.set(key, entry);
    if (entry.userId !== null) {
      let keys = this.#byUser.get(entry.userId);
      if (!keys) this.#byUser.set(entry.userId, (keys = new Set()));
      keys.add(key);
    }
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (entry.userId === null) return;
    const keys = this.#byUser.get(entry.userId);
    keys?.delete(key);
    if (keys?.size === 0) this.#byUser.delete(entry.userId);
  }
}
