/**
 * Deadlines: when a session expires and why. Pure functions of a record, the options and the
 * current time, so every timeout rule lives in one place and is tested with a frozen clock.
 * @module
 */

/** The timeouts that apply to one record, in ms. */
export interface Timeouts {
  /** Configured idle timeout. */
  idleTimeout: number;
  /** Configured absolute timeout. */
  absoluteTimeout: number;
}

/** The fields of a record that deadlines depend on. */
export interface DeadlineFields {
  createdAt: number;
  lastSeenAt: number;
  idleTimeoutMs?: number | undefined;
}

/** When the session expires for inactivity (ms since epoch). */
export function idleDeadline(record: DeadlineFields, timeouts: Timeouts): number {
  return record.lastSeenAt + (record.idleTimeoutMs ?? timeouts.idleTimeout);
}

/** When the session expires however active it is (ms since epoch). */
export function absoluteDeadline(record: DeadlineFields, timeouts: Timeouts): number {
  return record.createdAt + timeouts.absoluteTimeout;
}

/**
 * How long a store keeps a record after its deadline, in ms. Stores hide records past
 * `expiresAt`; this grace lets the engine, not the store, see a session that just ran out, so
 * it can delete it and report which clock ended it (`expired` with `idle` or `absolute`).
 */
export const EXPIRED_RECORD_GRACE_MS = 60_000;

/** The `expiresAt` to store: the earlier of the two deadlines, plus {@link EXPIRED_RECORD_GRACE_MS}. */
export function storeExpiry(record: DeadlineFields, timeouts: Timeouts): number {
  return Math.min(idleDeadline(record, timeouts), absoluteDeadline(record, timeouts)) + EXPIRED_RECORD_GRACE_MS;
}

/**
 * Which clock has run out at `now`, or `null` if the session is live. The absolute clock wins
 * when both have. Deadlines come from the record's timestamps and the current options, so a
 * shortened timeout applies to existing sessions at once.
 */
export function expiryReason(record: DeadlineFields, timeouts: Timeouts, now: number): 'idle' | 'absolute' | null {
  if (now >= absoluteDeadline(record, timeouts)) return 'absolute';
  if (now >= idleDeadline(record, timeouts)) return 'idle';
  return null;
}
