/**
 * What the conformance cases are made of: the factory a store test passes in, the clock, the
 * per-case context, a record builder and the one deep-equality check the cases use. See
 * `index.ts` for the entry point.
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { SessionRecord, Store } from '../store/types.js';

/** What the suite hands a store factory. */
export interface StoreFactoryContext {
  /**
   * The clock the store must use (ms since epoch). With `fakeClock: true` it only moves when a
   * case advances it; otherwise it is `Date.now`.
   */
  now: () => number;
}

/** A fresh store for one case, and how to clean up after it (temp files, server keys). */
export interface StoreHarness {
  /** The store under test. The suite closes it after the case, unless the case did. */
  store: Store;
  /** Called after the store was closed. */
  cleanup?: () => Promise<void> | void;
}

/** Builds a fresh, empty-for-practical-purposes store for each case. */
export type StoreFactory = (ctx: StoreFactoryContext) => Promise<StoreHarness> | StoreHarness;

/** Everything a case may use. */
export interface CaseContext {
  /** The store under test. */
  readonly store: Store;
  /** The current time of the clock the store uses (ms since epoch). */
  now(): number;
  /** Let `ms` pass: moves the fake clock, or sleeps on a real one. */
  advance(ms: number): Promise<void>;
  /** Lifetime of {@link CaseContext.shortLived} records, in ms. */
  readonly shortTtlMs: number;
  /** Let a short-lived record written now expire. */
  waitPastShortTtl(): Promise<void>;
  /** A valid record, live for an hour, with `overrides` applied. */
  record(overrides?: Partial<SessionRecord>): SessionRecord;
  /** A valid record that expires after {@link CaseContext.shortTtlMs}. */
  shortLived(overrides?: Partial<SessionRecord>): SessionRecord;
  /** A fresh random key shaped like a real one (base64url of 32 bytes). */
  newKey(): string;
  /** A fresh random user id, so cases never collide on a shared server. */
  newUserId(): string;
  /** Close the store now (the harness then skips its own close). */
  closeStore(): Promise<void>;
}

/** One behaviour of the contract. */
export interface ConformanceCase<Id extends string = string> {
  /** Stable id used in `skip`, e.g. `'crud.missing'`. */
  readonly id: Id;
  /** A behaviour sentence, used as the test name. */
  readonly name: string;
  /** Only meaningful with a fake clock (exact instants); skipped with `fakeClock: false`. */
  readonly needsFakeClock?: boolean;
  /** The case itself: throws (an `AssertionError`) when the store misbehaves. */
  run(t: CaseContext): Promise<void>;
}

/** Declare cases keeping their ids as literal types (for a typed `skip` map). */
export function defineCases<const T extends readonly ConformanceCase[]>(cases: T): T {
  return cases;
}

/**
 * A copy of `value` in which arrays and plain or null-prototype objects are rebuilt as plain
 * ones, leaving out properties whose value is `undefined` (`__proto__` stays an own key).
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return Array.from(value, plain);
  if (value !== null && typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || proto === Object.prototype) {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, plain(v)]),
      );
    }
  }
  return value;
}

/**
 * Assert that `actual` deeply equals `expected` as vitest's and jest's `toEqual` do: prototypes
 * of plain objects are not compared (a driver may return null-prototype objects) and
 * `undefined` properties count as absent. Everything else is `assert.deepStrictEqual`.
 */
export function assertEqual(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(plain(actual), plain(expected), message);
}

const HOUR = 3_600_000;

/** Clock settings resolved from the suite options. */
export interface ClockOptions {
  /** See `ConformanceOptions.fakeClock`. */
  fakeClock: boolean;
  /** Lifetime of short-lived records with a real clock, in ms. */
  realTtlMs: number;
}

/** Create the context of one case; `dispose` closes the store (unless the case did) and cleans up. */
export async function createContext(
  factory: StoreFactory,
  { fakeClock, realTtlMs }: ClockOptions,
): Promise<CaseContext & { dispose(): Promise<void> }> {
  let time = Date.now();
  const now = fakeClock ? () => time : Date.now;
  const advance = async (ms: number): Promise<void> => {
    if (fakeClock) time += ms;
    else await new Promise((resolve) => setTimeout(resolve, ms));
  };
  const shortTtlMs = fakeClock ? 1_000 : realTtlMs;
  const harness = await factory({ now });
  let closed = false;
  const closeStore = async (): Promise<void> => {
    closed = true;
    await harness.store.close();
  };
  const build = (ttlMs: number, overrides: Partial<SessionRecord>): SessionRecord => {
    const at = now();
    return {
      version: 1,
      createdAt: at,
      authenticatedAt: null,
      lastSeenAt: at,
      expiresAt: at + ttlMs,
      userId: null,
      data: {},
      meta: {},
      ...overrides,
    };
  };
  return {
    store: harness.store,
    now,
    advance,
    shortTtlMs,
    // The fake clock makes the record expire exactly; a real one needs a margin.
    waitPastShortTtl: () => advance(fakeClock ? shortTtlMs : shortTtlMs + 50),
    record: (overrides = {}) => build(HOUR, overrides),
    shortLived: (overrides = {}) => build(shortTtlMs, overrides),
    newKey: () => randomBytes(32).toString('base64url'),
    newUserId: () => `user-${randomBytes(6).toString('hex')}`,
    closeStore,
    async dispose() {
      if (!closed) await closeStore();
      await harness.cleanup?.();
    },
  };
}
