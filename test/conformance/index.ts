/**
 * The one conformance suite every {@link Store} runs. A store's test file is a few lines:
 *
 * @example
 * runStoreConformance('MemoryStore', ({ now }) => ({ store: new MemoryStore({ now }) }));
 *
 * @example
 * // A server that expires keys on its own clock (Redis TTL) cannot use the fake clock: expiry
 * // cases then write short-lived records and really wait.
 * runStoreConformance('RedisStore', async () => ({ store, cleanup }), {
 *   fakeClock: false,
 *   realTtlMs: 150,
 *   skip: { 'lifecycle.closed': 'the client reconnects on demand after quit()' },
 * });
 * @module
 */
import { describe, it } from 'vitest';
import { casCases } from './cas.js';
import { crudCases } from './crud.js';
import { expiryCases } from './expiry.js';
import { createContext, type ConformanceCase, type StoreFactory } from './harness.js';
import { userCases } from './users.js';

export type {
  CaseContext,
  ConformanceCase,
  StoreFactory,
  StoreFactoryContext,
  StoreHarness,
} from './harness.js';

const GROUPS = [
  ['reads, writes and deletes', crudCases],
  ['compare-and-set', casCases],
  ['expiry', expiryCases],
  ['per-user index', userCases],
] as const;

/** The id of every conformance case, e.g. `'cas.concurrent-writers'`. */
export type ConformanceCaseId = (typeof GROUPS)[number][1][number]['id'];

/** Options of {@link runStoreConformance}. */
export interface ConformanceOptions {
  /**
   * Whether the store reads time only from the `now` passed to the factory. When `false`, time
   * is real: expiry cases write records that live {@link ConformanceOptions.realTtlMs} and sleep,
   * and cases that need exact instants are skipped.
   * @default true
   */
  fakeClock?: boolean;
  /** Lifetime of short-lived records with a real clock, in ms. @default 200 */
  realTtlMs?: number;
  /**
   * Cases this store cannot pass, each with the reason (shown in the skipped test's name).
   * Prefer fixing the store; a skip is a documented limitation.
   */
  skip?: Partial<Record<ConformanceCaseId, string>>;
  /** Timeout of each case, in ms. @default 10_000 */
  timeoutMs?: number;
}

/**
 * Register the conformance suite for one store under `describe(name)`. `factory` is called once
 * per case and must return a fresh store (or one whose leftovers cannot collide: cases use
 * random keys and user ids).
 */
export function runStoreConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
): void {
  const { fakeClock = true, realTtlMs = 200, skip = {}, timeoutMs = 10_000 } = options;
  const known = new Set<string>(GROUPS.flatMap(([, cases]) => cases.map((c) => c.id)));
  for (const id of Object.keys(skip)) {
    if (!known.has(id)) throw new Error(`runStoreConformance: unknown case id in skip: ${id}`);
  }
  const skipReason = (c: ConformanceCase): string | undefined =>
    (skip as Record<string, string | undefined>)[c.id] ??
    (c.needsFakeClock && !fakeClock ? 'needs a fake clock' : undefined);

  describe(`${name} (Store conformance)`, () => {
    for (const [title, cases] of GROUPS) {
      describe(title, () => {
        for (const c of cases as readonly ConformanceCase[]) {
          const reason = skipReason(c);
          if (reason !== undefined) {
            it.skip(`${c.name} [skipped: ${reason}]`, () => {});
            continue;
          }
          it(
            c.name,
            async () => {
              const context = await createContext(factory, { fakeClock, realTtlMs });
              try {
                await c.run(context);
              } finally {
                await context.dispose();
              }
            },
            timeoutMs,
          );
        }
      });
    }
  });
}
