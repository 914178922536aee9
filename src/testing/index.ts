/**
 * `tessera/testing`: the one conformance suite every {@link Store} runs, published so that a
 * store written outside tessera runs exactly the same cases. A store's test file is a few lines:
 *
 * @example
 * import { describe, it } from 'vitest';
 * import { runStoreConformance } from 'tessera/testing';
 * runStoreConformance('MyStore', ({ now }) => ({ store: new MyStore({ now }) }), {
 *   framework: { describe, it },
 * });
 *
 * @example
 * // A server that expires keys on its own clock (Redis TTL) cannot use the fake clock: expiry
 * // cases then write short-lived records and really wait.
 * runStoreConformance('RedisStore', async () => ({ store, cleanup }), {
 *   fakeClock: false,
 *   realTtlMs: 150,
 *   skip: { 'lifecycle.closed': 'the client reconnects on demand after quit()' },
 * });
 *
 * Assertions use `node:assert/strict`, so the suite works under any runner with `describe` and
 * `it`: vitest, jest, mocha or `node:test`.
 * @module
 */
import { casCases } from './cas.js';
import { crudCases } from './crud.js';
import { deltaCases } from './delta.js';
import { expiryCases } from './expiry.js';
import { createContext, type ConformanceCase, type StoreFactory } from './harness.js';
import { userCases } from './users.js';

export type { StoreFactory, StoreFactoryContext, StoreHarness } from './harness.js';

const GROUPS = [
  ['reads, writes and deletes', crudCases],
  ['compare-and-set', casCases],
  ['expiry', expiryCases],
  ['per-user index', userCases],
  ['delta writes', deltaCases],
] as const;

/** The id of every conformance case, e.g. `'cas.concurrent-writers'`. */
export type ConformanceCaseId = (typeof GROUPS)[number][1][number]['id'];

/** A test body as the suite registers it. */
export type TestBody = () => Promise<void> | void;

/**
 * A runner's `it` (or `test`): registers a test. The suite passes the per-case timeout as the
 * third argument, in ms (vitest and jest honour it; mocha and `node:test` ignore it).
 */
export interface TestFunction {
  (name: string, fn: TestBody, timeoutMs?: number): unknown;
  /**
   * Registers a skipped test (given the case's real body). Optional: without it, a skipped case
   * is not registered, rather than counted as an empty test that passed.
   */
  skip?: (name: string, fn: TestBody, timeoutMs?: number) => unknown;
}

/** The two functions of a test runner the suite needs, e.g. `{ describe, it }` from vitest or `node:test`. */
export interface TestFramework {
  /** Groups tests; `fn` registers them synchronously. */
  describe: (name: string, fn: () => void) => unknown;
  /** Registers one test. */
  it: TestFunction;
}

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
  /**
   * The test runner to register the cases with.
   * @default `globalThis.describe` and `globalThis.it` (vitest with `globals: true`, jest, mocha);
   * without them, pass it (a `TypeError` says so).
   */
  framework?: TestFramework;
}

/** `options.framework`, or the runner's globals; a `TypeError` when neither is usable. */
function resolveFramework(given: TestFramework | undefined): TestFramework {
  const { describe, it } = (given ?? globalThis) as Partial<Record<keyof TestFramework, unknown>>;
  if (typeof describe === 'function' && typeof it === 'function') return { describe, it } as TestFramework;
  throw new TypeError(
    given === undefined
      ? 'runStoreConformance: no global describe() and it() found; pass options.framework = { describe, it } ' +
          "from your test runner (e.g. import { describe, it } from 'vitest' or 'node:test')"
      : 'runStoreConformance: options.framework must have describe(name, fn) and it(name, fn, timeoutMs) functions',
  );
}

/**
 * Register the conformance suite for one store under `describe(name + ' (Store conformance)')`,
 * one test per case. `factory` is called once per case and must return a fresh store (or one
 * whose leftovers cannot collide: cases use random keys and user ids); the suite closes the
 * store after the case, then calls `cleanup`.
 * @throws {Error} when `options.skip` names an unknown case id.
 * @throws {TypeError} when no test framework is given and the runner has no globals.
 */
export function runStoreConformance(
  name: string,
  factory: StoreFactory,
  options: ConformanceOptions = {},
): void {
  const { fakeClock = true, realTtlMs = 200, skip = {}, timeoutMs = 10_000 } = options;
  const { describe, it } = resolveFramework(options.framework);
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
          const run = async (): Promise<void> => {
            const context = await createContext(factory, { fakeClock, realTtlMs });
            try {
              await c.run(context);
            } finally {
              await context.dispose();
            }
          };
          const reason = skipReason(c);
          if (reason === undefined) it(c.name, run, timeoutMs);
          // A skipped case keeps its body (un-skipping it runs the real case); a runner without
          // it.skip does not list it at all rather than count an empty test as passed.
          else it.skip?.(`${c.name} [skipped: ${reason}]`, run, timeoutMs);
        }
      });
    }
  });
}
