/**
 * Deadlines: when a session expires and why. Pure functions of a record, the options and the
 * current time, so every timeout rule lives in one place and is tested with a frozen clock.
 *
 * Clocks. Records are written by whichever app host served the request, and read by any other.
 * Times up to `maxClockSkew` (default 2 min) later than this host's clock are taken as "now".
 * A record whose times are later than that proves no deadline at all (it was written by a clock
 * far ahead, or this host's clock fell back), so it ends with the reason `clock`: a deadline is
 * never stretched by a clock error. Writes never move `lastSeenAt` back, so a clock that falls
 * back a little never shortens a session either.
 * @module
 */

/** The timeouts that apply to one record, in ms. */
export interface Timeouts {
  /** Configured idle timeout. */
  idleTimeout: number;
  /** Configured absolute timeout. */
  absoluteTimeout: number;
  /** How much later than this host's clock a stored time may be and still be trusted. */
  maxClockSkew: number;
}

/** The fields of a record that deadlines depend on. */
export interface DeadlineFields {
  createdAt: number;
  lastSeenAt: number;
  idleTimeoutMs?: number | undefined;
}

/** Why a session is no longer live. */
export type ExpiryReason = 'idle' | 'absolute' | 'clock';

/** When the session expires however active it is (ms since epoch). */
export function absoluteDeadline(record: DeadlineFields, timeouts: Pick<Timeouts, 'absoluteTimeout'>): number {
  return record.createdAt + timeouts.absoluteTimeout;
}

/** When the session expires for inactivity (ms since epoch): never after its absolute deadline. */
export function idleDeadline(record: DeadlineFields, timeouts: Pick<Timeouts, 'idleTimeout' | 'absoluteTimeout'>): number {
  return Math.min(record.lastSeenAt + (record.idleTimeoutMs ?? timeouts.idleTimeout), absoluteDeadline(record, timeouts));
}

/**
 * How long a store keeps a record after its deadline, in ms. Stores hide records past
 * `expiresAt`; this grace lets the engine, not the store, see a session that just ran out, so
 * it can delete it and report which clock ended it (`expired` with `idle` or `absolute`).
 */
export const EXPIRED_RECORD_GRACE_MS = 60_000;

/**
 * The `expiresAt` to store: the session's deadline plus a grace in ms (the store's
 * `expiryGraceMs`, {@link EXPIRED_RECORD_GRACE_MS} unless it says otherwise).
 */
export function storeExpiry(
  record: DeadlineFields,
  timeouts: Pick<Timeouts, 'idleTimeout' | 'absoluteTimeout'>,
  graceMs = EXPIRED_RECORD_GRACE_MS,
): number {
  return idleDeadline(record, timeouts) + graceMs;
}

/**
 * Which clock has run out at `now`, or `null` if the session is live. The absolute clock wins
 * when both have; `clock` when the record's times are later than `now` by more than the skew
 * allowed. Deadlines come from the record's timestamps and the current options, so a shortened
 * timeout applies to existing sessions at once.
 */
export function expiryReason(record: DeadlineFields, timeouts: Timeouts, now: number): ExpiryReason | null {
  if (Math.max(record.createdAt, record.lastSeenAt) > now + timeouts.maxClockSkew) return 'clock';
  if (now >= absoluteDeadline(record, timeouts)) return 'absolute';
  if (now >= record.lastSeenAt + (record.idleTimeoutMs ?? timeouts.idleTimeout)) return 'idle';
  return null;
}

/** A time read from a record, taken as at most `now` (within the tolerated skew). */
export function notAfter(time: number, now: number): number {
  return time > now ? now : time;
}
