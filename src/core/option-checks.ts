/**
 * The checks every option value goes through: its kind (a duration, an integer, a boolean, a
 * function, one of a few values), durations that look like seconds, and option names that are
 * not known (with the closest known name). Each failure is an `INVALID_OPTION` naming the option.
 * @module
 */
import { TesseraError } from './errors.js';

const SECOND = 1_000;
/** The longest duration an option takes, in ms: 400 days, the longest cookie browsers keep. */
const MAX_DURATION = 400 * 24 * 60 * 60 * SECOND;

/** What a rule checks about one option's value. */
export type Rule =
  | { kind: 'duration'; min: number; infinite?: boolean; seconds?: boolean }
  | { kind: 'boolean' }
  | { kind: 'function' }
  | { kind: 'oneOf'; values: readonly unknown[] }
  | { kind: 'integer'; min: number; infinite?: boolean }
  | { kind: 'checked' };

/**
 * Refuse option names that are not known, naming the closest known one.
 * @param where the function the options were given to, for the message.
 */
export function checkNames(options: object, known: readonly string[], where: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const closest = closestName(name, known);
    fail(`${where}: unknown option ${JSON.stringify(name)}${closest === undefined ? '' : `; did you mean ${JSON.stringify(closest)}?`}`);
  }
}

/** Check one value against its rule. */
export function checkValue(name: string, value: unknown, rule: Rule): void {
  switch (rule.kind) {
    case 'duration':
    case 'integer': {
      if (typeof value !== 'number' || Number.isNaN(value)) fail(`${name} must be a number of ${rule.kind === 'duration' ? 'milliseconds' : 'items'} (got ${describe(value)})`);
      if (value === Infinity && rule.infinite === true) return;
      if (!Number.isFinite(value) || value < rule.min || (rule.kind === 'integer' && !Number.isInteger(value))) {
        fail(`${name} must be ${rule.kind === 'integer' ? 'an integer' : 'a number of milliseconds'} of at least ${rule.min}${rule.infinite ? ' (or Infinity)' : ''} (got ${value})`);
      }
      if (rule.kind === 'duration' && value > MAX_DURATION) fail(`${name} must be at most 400 days (${MAX_DURATION} ms; got ${value})`);
      if (rule.kind === 'duration' && rule.seconds === true && value < SECOND) {
        fail(`${name} is in milliseconds: ${value} means ${value} ms; for ${value} seconds write ${value * SECOND}`);
      }
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail(`${name} must be true or false (got ${describe(value)})`);
      return;
    case 'function':
      if (typeof value !== 'function') fail(`${name} must be a function (got ${describe(value)})`);
      return;
    case 'oneOf':
      if (!rule.values.includes(value)) fail(`${name} must be one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describe(value)})`);
      return;
    case 'checked':
      return;
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** The known name within edit distance 3 of `name` (case-insensitive), if any. */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function fail(message: string): never {
  throw new TesseraError('INVALID_OPTION', message);
}
