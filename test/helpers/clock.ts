/**
 * A clock that only moves when a test moves it. Pass `clock.now` as the `now` option of the
 * engine (or the Express drop-in) and of the store, so both agree on what time it is. Never sleep.
 * @module
 */

/** 2023-11-14T22:13:20Z: a fixed, round instant far from any real clock. */
export const T0 = 1_700_000_000_000;

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** A frozen clock. */
export interface TestClock {
  /** The current time in ms since epoch; a bound function, safe to pass around. */
  readonly now: () => number;
  /** Move the clock forward by `ms`. */
  advance(ms: number): void;
  /** Put the clock at an absolute instant. */
  set(time: number): void;
}

/** A clock frozen at `start` until the test advances it. */
export function frozenClock(start: number = T0): TestClock {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      if (!(ms >= 0)) throw new Error(`frozenClock.advance: ${ms} is not a non-negative duration`);
      time += ms;
    },
    set(next) {
      time = next;
    },
  };
}

/**
 * A clock that moves forward by `stepMs` every time it is read, starting at `start`: models
 * real time passing while a request runs (two reads of `Date.now()` in one request may differ).
 */
export function tickingClock(start: number = T0, stepMs = 1): TestClock {
  let time = start;
  return {
    now: () => {
      const current = time;
      time += stepMs;
      return current;
    },
    advance(ms) {
      if (!(ms >= 0)) throw new Error(`tickingClock.advance: ${ms} is not a non-negative duration`);
      time += ms;
    },
    set(next) {
      time = next;
    },
  };
}
