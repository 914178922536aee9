/**
 * What the conformance cases are made of: the factory a store test passes in, the clock, the
 * per-case context and a record builder. See `index.ts` for the entry point.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { SessionRecord, Store } from '../../src/store/types.js';

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
  store: Store;
  /** Called after the store was closed. */
  cleanup?: () => Promise<void> | void;
}

/** Builds a fresh, empty-for-practical-purposes store for each case. */
export type StoreFactory = (ctx: StoreFactoryContext) => Promise<StoreHarness> | StoreHarness;

/** Everything a case may use. */
export interface CaseContext {
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
  run(t: CaseContext): Promise<void>;
}

/** Declare cases keeping their ids as literal types (for a typed `skip` map). */
export function defineCases<const T extends readonly ConformanceCase[]>(cases: T): T {
  return cases;
}

const HOUR = 3_600_000;

/** Clock settings resolved from the suite options. */
export interface ClockOptions {
  fakeClock: boolean;
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
