import { describe, expect, it } from 'vitest';
import { EXPIRED_RECORD_GRACE_MS, absoluteDeadline, expiryReason, idleDeadline, storeExpiry } from '../../src/core/policy.js';
import { HOUR, MINUTE, T0 } from '../helpers/clock.js';

const timeouts = { idleTimeout: 30 * MINUTE, absoluteTimeout: 12 * HOUR, maxClockSkew: 2 * MINUTE };

/** A record created at T0 and last seen `seenAfter` ms later, stored with the deadline the engine writes. */
function record(seenAfter: number, idleTimeoutMs?: number) {
  const fields = { createdAt: T0, lastSeenAt: T0 + seenAfter, ...(idleTimeoutMs !== undefined && { idleTimeoutMs }) };
  return { ...fields, expiresAt: storeExpiry(fields, timeouts) };
}

describe('deadlines', () => {
  it('puts the idle deadline one idle timeout after the last activity', () => {
    expect(idleDeadline(record(0), timeouts)).toBe(T0 + 30 * MINUTE);
    expect(idleDeadline(record(10 * MINUTE), timeouts)).toBe(T0 + 40 * MINUTE);
  });

  it("uses a session's own idle timeout over the configured one", () => {
    expect(idleDeadline(record(0, 5 * MINUTE), timeouts)).toBe(T0 + 5 * MINUTE);
    expect(idleDeadline(record(0, 2 * HOUR), timeouts)).toBe(T0 + 2 * HOUR);
  });

  it('puts the absolute deadline one absolute timeout after creation, whatever the activity', () => {
    expect(absoluteDeadline(record(0), timeouts)).toBe(T0 + 12 * HOUR);
    expect(absoluteDeadline(record(11 * HOUR), timeouts)).toBe(T0 + 12 * HOUR);
    expect(absoluteDeadline(record(0, 24 * HOUR), timeouts)).toBe(T0 + 12 * HOUR);
  });

  it('stores the earlier of the two deadlines, plus a grace for the engine to report the expiry, as expiresAt', () => {
    const grace = EXPIRED_RECORD_GRACE_MS;
    expect(storeExpiry(record(0), timeouts)).toBe(T0 + 30 * MINUTE + grace);
    expect(storeExpiry(record(11 * HOUR + 45 * MINUTE), timeouts)).toBe(T0 + 12 * HOUR + grace);
    expect(storeExpiry(record(0, 13 * HOUR), timeouts)).toBe(T0 + 12 * HOUR + grace);
  });
});

describe('expiryReason', () => {
  it('keeps a session live until 1 ms before its idle deadline, and expires it for idleness at the deadline', () => {
    const r = record(0);

    expect(expiryReason(r, timeouts, T0)).toBeNull();
    expect(expiryReason(r, timeouts, T0 + 30 * MINUTE - 1)).toBeNull();
    expect(expiryReason(r, timeouts, T0 + 30 * MINUTE)).toBe('idle');
    expect(expiryReason(r, timeouts, T0 + 31 * MINUTE)).toBe('idle');
  });

  it('expires an active session at its absolute deadline and not 1 ms before', () => {
    const r = record(12 * HOUR - 10 * MINUTE);

    expect(expiryReason(r, timeouts, T0 + 12 * HOUR - 1)).toBeNull();
    expect(expiryReason(r, timeouts, T0 + 12 * HOUR)).toBe('absolute');
  });

  it('names the absolute clock when both have run out', () => {
    expect(expiryReason(record(0), timeouts, T0 + 13 * HOUR)).toBe('absolute');
  });

  it("applies a session's own idle timeout", () => {
    const r = record(0, 5 * MINUTE);

    expect(expiryReason(r, timeouts, T0 + 5 * MINUTE - 1)).toBeNull();
    expect(expiryReason(r, timeouts, T0 + 5 * MINUTE)).toBe('idle');
  });

  it('applies a configured timeout shorter than the one the record was written with', () => {
    const r = record(0);
    const shorter = { idleTimeout: 10 * MINUTE, absoluteTimeout: 1 * HOUR, maxClockSkew: 2 * MINUTE };

    expect(expiryReason(r, shorter, T0 + 10 * MINUTE)).toBe('idle');
    expect(expiryReason(record(50 * MINUTE), shorter, T0 + HOUR)).toBe('absolute');
  });
});
