/**
 * A session record for store tests: created, last seen and signed out at `at`, expiring a
 * minute later, no user, no data.
 */
import type { SessionRecord } from '../../src/store/types.js';
import { T0 } from './clock.js';

/** A record at `T0` (or `at`), with `overrides` applied. */
export function sampleRecord(overrides: Partial<SessionRecord> = {}, at = T0): SessionRecord {
  return {
    version: 1,
    createdAt: at,
    authenticatedAt: null,
    lastSeenAt: at,
    expiresAt: at + 60_000,
    userId: null,
    data: {},
    meta: {},
    ...overrides,
  };
}
