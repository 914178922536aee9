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

/** The `expiresAt` to store: the earlier of the two deadlines. */
export function storeExpiry(record: DeadlineFields, timeouts: Timeouts): number {
  return Math.min(idleDeadline(record, timeouts), absoluteDeadline(record, timeouts));
}

/**
 * Which clock has run out at `now`, or `null` if the session is live. The absolute clock wins
 * when both have. The stored `expiresAt` also ends a session (it may reflect a shorter timeout
 * that was configured when it was written).
 */
export function expiryReason(
  record: DeadlineFields & { expiresAt: number },
  timeouts: Timeouts,
  now: number,
): 'idle' | 'absolute' | null {
  if (now >= absoluteDeadline(record, timeouts)) return 'absolute';
  if (now >= idleDeadline(record, timeouts) || now >= record.expiresAt) return 'idle';
  return null;
}
