/**
 * The demo's timing settings from the environment, so its timeouts can be tried in minutes:
 * `IDLE_TIMEOUT=2m ABSOLUTE_TIMEOUT=10m ROTATE_EVERY=1m npm start`.
 * @module
 */

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * A duration from the environment: `90` (seconds), `90s`, `20m`, `12h` or `500ms`.
 * @returns milliseconds, or `undefined` when `text` is absent or empty.
 * @throws Error naming the variable for anything else (a zero or negative duration too).
 */
export function parseDuration(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  const ms = match === null ? NaN : Number(match[1]) * (UNITS[(match[2] ?? 's').toLowerCase()] ?? NaN);
  if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`${name}: expected a duration such as 90 (seconds), 90s, 20m or 12h, not ${JSON.stringify(text)}`);
  return Math.round(ms);
}

/** The timing settings of the demo (ms); absent ones keep the demo's defaults. */
export interface DemoTimings {
  /** `IDLE_TIMEOUT`. @default 30 min */
  idleTimeout?: number;
  /** `ABSOLUTE_TIMEOUT`. @default 12 h */
  absoluteTimeout?: number;
  /** `ROTATE_EVERY`. @default 15 min */
  rotateEvery?: number;
  /** `SIGNIN_TIMEOUT`: how long the sign-in page's form stays usable. @default 10 min */
  signInTimeout?: number;
}

/** Read {@link DemoTimings} from `env`. @throws Error for a value that is not a duration. */
export function timingsFrom(env: Record<string, string | undefined>): DemoTimings {
  const timings: DemoTimings = {};
  const entries: Array<[keyof DemoTimings, string]> = [
    ['idleTimeout', 'IDLE_TIMEOUT'],
    ['absoluteTimeout', 'ABSOLUTE_TIMEOUT'],
    ['rotateEvery', 'ROTATE_EVERY'],
    ['signInTimeout', 'SIGNIN_TIMEOUT'],
  ];
  for (const [key, name] of entries) {
    const ms = parseDuration(env[name], name);
    if (ms !== undefined) timings[key] = ms;
  }
  return timings;
}

/** "20 seconds", "30 minutes", "12 hours", "1 minute 30 seconds": a duration as the pages say it. */
export function spokenDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [['hour', 3_600], ['minute', 60], ['second', 1]] as const) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count} ${unit}${count === 1 ? '' : 's'}`);
  }
  return parts.length === 0 ? 'less than a second' : parts.slice(0, 2).join(' ');
}
