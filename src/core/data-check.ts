/**
 * What session data may be stored: values JSON can hold, within `maxDataBytes`. Checked before
 * any store call, so an application bug (a BigInt, a cycle, a runaway list) is an error of its
 * own that names the key, never a store outage, and no store is asked to keep megabytes.
 * @module
 */
import { TesseraError } from './errors.js';
import type { SessionData } from './handle.js';

/**
 * Throw unless `data` can be stored: every value JSON-serialisable (a top-level function,
 * symbol or `undefined` would be dropped silently, so it is refused too), and the whole at most
 * `maxBytes` bytes of UTF-8 JSON. One `JSON.stringify` of the data; the failing key is looked
 * for only when it fails.
 * @throws TesseraError `INVALID_DATA` naming the key, or `DATA_TOO_LARGE`.
 */
export function checkStorable(data: Readonly<SessionData>, maxBytes: number): void {
  for (const key of Object.keys(data)) {
    const type = typeof data[key];
    if (type === 'function' || type === 'symbol' || type === 'undefined') refuse(key, `a ${type} has no JSON form`);
  }
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    for (const key of Object.keys(data)) {
      try {
        JSON.stringify(data[key]);
      } catch (keyError) {
        refuse(key, (keyError as Error).message);
      }
    }
    throw new TesseraError('INVALID_DATA', `session data cannot be stored as JSON: ${(error as Error).message}`);
  }
  if (maxBytes === Infinity || json.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    throw new TesseraError(
      'DATA_TOO_LARGE',
      `session data is ${bytes} bytes of JSON, more than maxDataBytes (${maxBytes}); keep large data elsewhere and its id in the session`,
    );
  }
}

function refuse(key: string, why: string): never {
  throw new TesseraError('INVALID_DATA', `session data ${JSON.stringify(key)} cannot be stored as JSON: ${why}`);
}
