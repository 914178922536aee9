/**
 * What every request of one engine shares: the resolved options, the key ring, the store
 * gateway and the event emitter. Internal: an app holds an `Engine`, whose context is a private
 * field, so no published type leads to the gateway, the emitter or the signer.
 * @module
 */
import { createHmac } from 'node:crypto';
import type { SessionRecord } from '../store/types.js';
import { createEmitter, type Emit } from './events.js';
import { StoreGateway } from './gateway.js';
import type { SessionData } from './handle.js';
import type { KeyRing } from './keyring.js';
import type { ResolvedOptions } from './options.js';

/**
 * A source of sessions written by express-session, read once and then moved to a tessera
 * session (the Express adapter provides it).
 */
export interface LegacySource {
  /** Load an express-session session by its raw id; `null` when absent. */
  load(sid: string): Promise<SessionData | null>;
  /** Delete it once its data lives in a tessera session. */
  remove(sid: string): Promise<void>;
}

/** The shared parts of one engine. */
export interface SessionContext {
  readonly options: ResolvedOptions;
  readonly keyRing: KeyRing;
  readonly gateway: StoreGateway;
  readonly emit: Emit;
  readonly legacy: LegacySource | undefined;
  readonly writes: WriteQueues;
  /** HMAC reference of a store key for events and logs: 22 base64url characters. */
  reference(key: string): string;
}

/** Build the context of an engine. */
export function createContext(options: ResolvedOptions, legacy: LegacySource | undefined): SessionContext {
  const emit = createEmitter(options.onEvent, options.now);
  const referenceKey = options.keyRing.referenceKey;
  return {
    options,
    keyRing: options.keyRing,
    gateway: new StoreGateway(options, emit),
    emit,
    legacy,
    writes: new WriteQueues(),
    reference: (key) => createHmac('sha256', referenceKey).update(key).digest('base64url').slice(0, 22),
  };
}

/** How many sessions' last written records a process remembers after their writes settle. */
const RECENT_WRITES = 256;

/**
 * Writes to one session from this process, one at a time. Requests of one user often overlap
 * (a page firing parallel requests); taking turns here means they never race each other's
 * compare-and-set, and each one starts from the record the one before it wrote (kept a little
 * after the queue empties, for a request that loaded before that write but saves after it),
 * with no store read. Writes from other processes are still caught by compare-and-set.
 */
export class WriteQueues {
  readonly #tails = new Map<string, { tail: Promise<unknown>; last: SessionRecord | undefined }>();
  /** The last record written under a key whose queue has emptied, most recent last (bounded). */
  readonly #recent = new Map<string, SessionRecord>();

  /**
   * Run `task` after every earlier task on `key` has finished. The task gets the last record
   * this process wrote under `key` recently (or `undefined`), and returns the record it wrote
   * (or `undefined`).
   */
  async run<T>(key: string, task: (last: SessionRecord | undefined) => Promise<{ result: T; wrote?: SessionRecord | undefined }>): Promise<T> {
    let entry = this.#tails.get(key);
    if (entry === undefined) {
      entry = { tail: Promise.resolve(), last: this.#recent.get(key) };
      this.#recent.delete(key);
      this.#tails.set(key, entry);
    }
    const current = entry;
    const run = current.tail.then(async () => {
      const outcome = await task(current.last);
      if (outcome.wrote !== undefined) current.last = outcome.wrote;
      return outcome.result;
    });
    const tail = run.catch(() => undefined);
    current.tail = tail;
    try {
      return await run;
    } finally {
      if (current.tail === tail) {
        this.#tails.delete(key);
        if (current.last !== undefined) this.#remember(key, current.last);
      }
    }
  }

  /**
   * Forget the last record written under `key`: the store now holds a merge of a delta that
   * no write of this process has seen whole, so the next compare-and-set starts from a read.
   * (A write already under way may still remember its own record; its successor's
   * compare-and-set then fails once and reads.)
   */
  forget(key: string): void {
    const entry = this.#tails.get(key);
    if (entry !== undefined) entry.last = undefined;
    this.#recent.delete(key);
  }

  #remember(key: string, record: SessionRecord): void {
    this.#recent.set(key, record);
    if (this.#recent.size > RECENT_WRITES) this.#recent.delete(this.#recent.keys().next().value as string);
  }
}
