/**
 * The one rule for tests that need something this machine may lack (a database server,
 * Chromium): under `CI=true` its absence fails the run; outside CI it is one skipped test whose
 * name says what was not covered and why, so a local run never passes silently. Kept free of
 * imports beyond vitest, so browser tests do not load the database clients.
 * @module
 */
import { describe, it } from 'vitest';

/** Whether this is a CI run (`CI=true`): nothing may be skipped for want of a server or a browser. */
export const IN_CI = process.env['CI'] === 'true';

/**
 * Stand in for tests that cannot run: one test whose body fails with `reason`. Under `CI=true`
 * it runs, so the run fails; elsewhere it is skipped (a local run shows it among the skipped,
 * named `<what> [skipped: <reason>]`, instead of passing silently without the server).
 * @param what what the tests cover, e.g. `'LegacyStore on connect-redis'`.
 * @param reason why they cannot run here, e.g. `'no Redis at redis://127.0.0.1:6379'`.
 */
export function unavailable(what: string, reason: string): void {
  // Skipped outside CI only: a machine without the server may not run these tests, CI must.
  it.skipIf(!IN_CI)(IN_CI ? `${what}: needs what this machine lacks (CI=true)` : `${what} [skipped: ${reason}]`, () => {
    throw new Error(`${reason}; on CI (CI=true) these tests must run, not skip`);
  });
}

/** `describe(title, body)` when `problem` is `undefined`; otherwise {@link unavailable}. */
export function describeIfAvailable(title: string, problem: string | undefined, body: () => void): void {
  if (problem === undefined) describe(title, body);
  else unavailable(title, problem);
}
