/**
 * A {@link Store} wrapper that records every call it forwards, so tests can assert what the
 * engine asked of its store: which keys, which serialized records, how many writes.
 * @module
 */
import type {
  DataDelta,
  DeleteByUserOptions,
  SessionRecord,
  SetOptions,
  Store,
  UserSessionEntry,
} from '../../src/store/types.js';

/** One call made to the store, with its arguments as the store saw them. */
export type StoreCall =
  | { op: 'get'; key: string }
  | {
      op: 'set';
      key: string;
      /** `JSON.stringify` of the record exactly as passed. */
      record: string;
      expectVersion: number | null | undefined;
      /** What the inner store answered (false: the compare-and-set guard failed). */
      written?: boolean;
    }
  | { op: 'applyDelta'; key: string; delta: DataDelta; result?: number | null | 'unsupported' }
  | { op: 'delete'; key: string }
  | { op: 'touch'; key: string; lastSeenAt: number; expiresAt: number; touched?: boolean }
  | { op: 'listByUser'; userId: string }
  | { op: 'deleteByUser'; userId: string; exceptKey: string | undefined }
  | { op: 'close' };

export type StoreOp = StoreCall['op'];

/** Forwards to `inner` and records each call in {@link RecordingStore.calls}. */
export class RecordingStore implements Store {
  readonly calls: StoreCall[] = [];

  /**
   * Forwarded only when the inner store has it and `options.deltas` is true, so that tests
   * written for whole-record writes keep seeing `set` calls.
   */
  readonly applyDelta?: (key: string, delta: DataDelta) => Promise<number | null | 'unsupported'>;

  constructor(
    readonly inner: Store,
    options: { deltas?: boolean } = {},
  ) {
    const apply = inner.applyDelta?.bind(inner);
    if (options.deltas === true && apply !== undefined) {
      this.applyDelta = async (key, delta) => {
        const call: Extract<StoreCall, { op: 'applyDelta' }> = { op: 'applyDelta', key, delta: structuredClone(delta) };
        this.calls.push(call);
        call.result = await apply(key, delta);
        return call.result;
      };
    }
  }

  /** How many calls of these kinds were made. */
  count(...ops: StoreOp[]): number {
    return this.calls.filter((call) => ops.includes(call.op)).length;
  }

  /** Calls that change a stored record: `set`, `applyDelta` and `touch`. */
  writes(): StoreCall[] {
    return this.calls.filter((call) => call.op === 'set' || call.op === 'applyDelta' || call.op === 'touch');
  }

  /** Every key passed to the store, in order. */
  keys(): string[] {
    return this.calls.flatMap((call) => ('key' in call ? [call.key] : []));
  }

  /** Everything the store was handed, as one string per call (keys, records, user ids). */
  transcript(): string[] {
    return this.calls.map((call) => JSON.stringify(call));
  }

  /** Forget the calls recorded so far. */
  reset(): void {
    this.calls.length = 0;
  }

  async get(key: string): Promise<SessionRecord | null> {
    this.calls.push({ op: 'get', key });
    return this.inner.get(key);
  }

  async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    const call: Extract<StoreCall, { op: 'set' }> = {
      op: 'set',
      key,
      record: JSON.stringify(record),
      expectVersion: options?.expectVersion,
    };
    this.calls.push(call);
    const written = await this.inner.set(key, record, options);
    call.written = written;
    return written;
  }

  async delete(key: string): Promise<void> {
    this.calls.push({ op: 'delete', key });
    return this.inner.delete(key);
  }

  async touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    const call: Extract<StoreCall, { op: 'touch' }> = { op: 'touch', key, lastSeenAt, expiresAt };
    this.calls.push(call);
    const touched = await this.inner.touch(key, lastSeenAt, expiresAt);
    call.touched = touched;
    return touched;
  }

  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    this.calls.push({ op: 'listByUser', userId });
    return this.inner.listByUser(userId);
  }

  async deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    this.calls.push({ op: 'deleteByUser', userId, exceptKey: options?.exceptKey });
    return this.inner.deleteByUser(userId, options);
  }

  async close(): Promise<void> {
    this.calls.push({ op: 'close' });
    return this.inner.close();
  }
}
