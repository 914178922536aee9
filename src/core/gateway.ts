/**
 * The store gateway: every store call the core makes goes through here, and nothing outside
 * the core can reach it. It puts a deadline on each call (`storeTimeout`), turns any failure
 * into `STORE_UNAVAILABLE` with a `store_error` event, seals and opens encrypted data, and
 * checks every record it reads: a record that is not valid is removed and reads as absent.
 * @module
 */
import type { DataDelta, SessionRecord, Store, UserSessionEntry } from '../store/types.js';
import { isSessionRecord } from '../store/types.js';
import { sanitise, storeUnavailable, type TesseraError } from './errors.js';
import type { Emit } from './events.js';
import type { KeyRing } from './keyring.js';
import type { RequestInfo } from './request.js';
import { openRecord, sealRecord, type SealFailure } from './seal.js';
import { EXPIRED_RECORD_GRACE_MS } from './policy.js';

/** What the gateway needs from the resolved options. */
export interface GatewayOptions {
  store: Store;
  storeTimeout: number;
  encryptData: boolean;
  keyRing: KeyRing;
}

/** A record as read: absent, unusable (removed, reported), or a valid record. */
export type ReadResult = SessionRecord | null;

/** Store access with deadlines, failure reporting, encryption and validation. */
export class StoreGateway {
  readonly #store: Store;
  readonly #timeout: number;
  readonly #encrypt: boolean;
  readonly #keyRing: KeyRing;
  readonly #emit: Emit;
  /** Requests during which a store call failed. */
  readonly #failed = new WeakSet<RequestInfo>();

  constructor(options: GatewayOptions, emit: Emit) {
    this.#store = options.store;
    this.#timeout = options.storeTimeout;
    this.#encrypt = options.encryptData;
    this.#keyRing = options.keyRing;
    this.#emit = emit;
  }

  /** How long past a deadline the store keeps a record, in ms (the store's `expiryGraceMs`). */
  get expiryGraceMs(): number {
    const grace = this.#store.expiryGraceMs;
    return typeof grace === 'number' && Number.isFinite(grace) && grace >= 0 ? grace : EXPIRED_RECORD_GRACE_MS;
  }

  /**
   * The record under `key`, or `null`. A record that fails validation (corrupt, edited, or
   * sealed under a key that is gone) is deleted, reported as `invalid_record`, and is `null`.
   * A record left by tessera 0.1's rotation (a pointer to where its session moved) is `null`.
   */
  async read(key: string, request: RequestInfo | undefined, ref: () => string): Promise<ReadResult> {
    const stored = await this.call('get', request, () => this.#store.get(key));
    if (stored === null) return null;
    if (!isSessionRecord(stored) || 'movedTo' in stored) {
      const undecodable = typeof stored === 'object' && stored !== null && (stored as { version?: unknown }).version === -1;
      if (!('movedTo' in (stored as object))) {
        this.#emit('invalid_record', request, ref(), null, { reason: undecodable ? 'undecodable' : 'invalid_fields' });
      }
      await this.remove(key, request);
      return null;
    }
    const opened = this.#open(key, stored);
    if (typeof opened === 'string') {
      this.#emit('invalid_record', request, ref(), null, { reason: opened });
      await this.remove(key, request);
      return null;
    }
    return opened;
  }

  /**
   * A record as the engine may trust it: with `encryptData`, its seal verified and its data
   * opened (plain data is refused: someone wrote it over the sealed value). Without it, plain
   * records as they are, and records sealed before encryption was turned off still opened.
   */
  #open(key: string, record: SessionRecord): SessionRecord | SealFailure {
    const opened = openRecord(this.#keyRing, key, record);
    if (opened !== 'unsealed') return opened;
    return this.#encrypt ? 'unsealed' : record;
  }

  /** Write a record (sealing its data when `encryptData` is on). @returns whether it was written. */
  async write(key: string, record: SessionRecord, expectVersion: number | null | undefined, request: RequestInfo | undefined): Promise<boolean> {
    const stored = this.#encrypt ? sealRecord(this.#keyRing, key, record) : record;
    const options = expectVersion === undefined ? {} : { expectVersion };
    return this.call('set', request, () => this.#store.set(key, stored, options));
  }

  /** Extend a record's idle deadline. @returns whether the record existed. */
  async touch(key: string, lastSeenAt: number, expiresAt: number, request: RequestInfo | undefined): Promise<boolean> {
    return this.call('touch', request, () => this.#store.touch(key, lastSeenAt, expiresAt));
  }

  async remove(key: string, request: RequestInfo | undefined): Promise<void> {
    await this.call('delete', request, () => this.#store.delete(key));
  }

  /** The valid records indexed under a user (others are skipped). */
  async listUser(userId: string, request: RequestInfo | undefined): Promise<UserSessionEntry[]> {
    const entries = await this.call('listByUser', request, () => this.#store.listByUser(userId));
    const valid: UserSessionEntry[] = [];
    for (const entry of entries) {
      if (!isSessionRecord(entry.record) || 'movedTo' in entry.record) continue;
      // A record whose seal does not verify says nothing true about the user: leave it out.
      const opened = this.#open(entry.key, entry.record);
      if (typeof opened !== 'string') valid.push({ key: entry.key, record: opened });
    }
    return valid;
  }

  async deleteByUser(userId: string, exceptKey: string | undefined, request: RequestInfo | undefined): Promise<number> {
    const options = exceptKey === undefined ? {} : { exceptKey };
    return this.call('deleteByUser', request, () => this.#store.deleteByUser(userId, options));
  }

  /**
   * Whether data changes may go to the store as deltas: the store applies them, and the data
   * is not sealed (a sealed value can only be replaced whole).
   */
  get takesDeltas(): boolean {
    return typeof this.#store.applyDelta === 'function' && !this.#encrypt;
  }

  /** Apply a delta (see `Store.applyDelta`). @returns the new version, `null` if gone, or `'unsupported'`. */
  async applyDelta(key: string, delta: DataDelta, request: RequestInfo | undefined): Promise<number | null | 'unsupported'> {
    return this.call('applyDelta', request, () => this.#store.applyDelta!(key, delta));
  }

  /** Whether the store can delete every session at once. */
  get canDeleteAll(): boolean {
    return typeof this.#store.deleteAll === 'function';
  }

  async deleteAll(): Promise<number> {
    return this.call('deleteAll', undefined, () => this.#store.deleteAll!());
  }

  async close(): Promise<void> {
    await this.#store.close();
  }

  /** Whether a store call failed while serving this request. */
  failed(request: RequestInfo): boolean {
    return this.#failed.has(request);
  }

  /**
   * Run one store call with the `storeTimeout` deadline. Any failure, a timeout included,
   * becomes `STORE_UNAVAILABLE`, is reported as a `store_error` event, and marks the request.
   */
  async call<T>(operation: string, request: RequestInfo | undefined, run: () => Promise<T>): Promise<T> {
    const limit = this.#timeout;
    try {
      // Promise.resolve: a store that returns a plain value (or calls back synchronously
      // behind a promise) still works; a native promise comes back as it is, at no cost.
      const call = Promise.resolve(run());
      if (limit === Infinity) return await call;
      // One promise settled by whichever comes first (cheaper than Promise.race and a second
      // promise for the timer, on every store call).
      return await new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`store ${operation} timed out after ${limit} ms`)), limit);
        call.then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    } catch (error) {
      throw this.#failure(operation, error, request);
    }
  }

  #failure(operation: string, error: unknown, request: RequestInfo | undefined): TesseraError {
    const failure = storeUnavailable(error);
    if (request !== undefined) this.#failed.add(request);
    const cause = failure.cause ?? error;
    this.#emit('store_error', request, null, null, {
      operation,
      errorCode: failure.code,
      ...(cause instanceof Error && { causeName: cause.name, causeMessage: sanitise(cause.message) }),
    });
    return failure;
  }
}

