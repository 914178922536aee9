/**
 * Calls made during one turn of the event loop, sent to the store's server together at the end
 * of the turn. A statement's cost in the app process (a round trip through the driver: write,
 * wake-up, read, parse) barely depends on how many rows it touches, and on a busy server the
 * requests that one turn takes in make their store calls together. PostgreSQL: one
 * `SELECT ... = ANY(...)` instead of one per request, and one `UPDATE` (one commit) for the
 * data changes of many; MySQL: one `SELECT ... IN (...)`. Under light load a batch holds one
 * call, which runs as it would alone.
 * @module
 */
import { onNextTurn } from './next-turn.js';
import type { DataDelta } from './types.js';

/** Most calls sent in one statement; more in one turn go out as several statements. */
export const MAX_BATCH = 256;

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects the items added during one turn of the event loop and hands them to `run` at the
 * end of the turn (after the I/O that was ready), at most {@link MAX_BATCH} at a time.
 */
export class TurnBatch<T, R> {
  readonly #run: (items: readonly T[]) => Promise<readonly R[]>;
  #waiting: Waiting<T, R>[] = [];

  /**
   * @param run answers every item of a batch, in order; a rejection fails every item of it.
   */
  constructor(run: (items: readonly T[]) => Promise<readonly R[]>) {
    this.#run = run;
  }

  /** Queue `item` for the end of this turn. @returns what `run` answered for it. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.#waiting.length === 0) onNextTurn(() => this.#flush());
      this.#waiting.push({ item, resolve, reject });
    });
  }

  #flush(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let start = 0; start < waiting.length; start += MAX_BATCH) {
      const batch = waiting.slice(start, start + MAX_BATCH);
      this.#run(batch.map((w) => w.item)).then(
        (results) => batch.forEach((w, i) => w.resolve(results[i]!)),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      );
    }
  }
}

/** Several deltas of one key, made one: applying it equals applying them in order. */
export interface MergedDelta extends DataDelta {
  /** How many deltas it stands for: the version moves by this much, as if each were applied. */
  readonly steps: number;
}

/**
 * Merge deltas of one key, in the order they were made: a later set or removal of a key wins
 * over an earlier one, and the times are the latest. Removals apply before sets (as every
 * store applies a delta), so a key removed and then set again ends up set.
 */
export function mergeDeltas(deltas: readonly DataDelta[]): MergedDelta {
  if (deltas.length === 1) return { ...deltas[0]!, steps: 1 };
  const set: Record<string, unknown> = {};
  const remove = new Set<string>();
  let lastSeenAt = -Infinity;
  let expiresAt = -Infinity;
  for (const delta of deltas) {
    for (const name of delta.remove) {
      delete set[name];
      remove.add(name);
    }
    // defineProperty, not assignment: a key named `__proto__` is data like any other.
    for (const [name, value] of Object.entries(delta.set)) {
      Object.defineProperty(set, name, { value, enumerable: true, writable: true, configurable: true });
    }
    lastSeenAt = Math.max(lastSeenAt, delta.lastSeenAt);
    expiresAt = Math.max(expiresAt, delta.expiresAt);
  }
  return { set, remove: [...remove], lastSeenAt, expiresAt, steps: deltas.length };
}

/** One call of a store's `applyDelta`, waiting for its batch. */
export interface KeyedDelta {
  readonly key: string;
  readonly delta: DataDelta;
}

/** The positions of a batch's items by key, keys in the order they first came. */
export function positionsByKey(items: readonly { readonly key: string }[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  items.forEach(({ key }, position) => {
    const positions = byKey.get(key);
    if (positions === undefined) byKey.set(key, [position]);
    else positions.push(position);
  });
  return byKey;
}

/**
 * What each of `count` merged deltas answers, given what the merged one answered: the version
 * each would have had applied alone in its order (the last gets `result`), or `result` itself
 * when it is no version (`null`: the session is gone; `'unsupported'`).
 */
export function spreadResult<R extends number | null | 'unsupported'>(result: R, count: number): Array<R | number> {
  return Array.from({ length: count }, (_, j) => (typeof result === 'number' ? result - count + 1 + j : result));
}
