/**
 * A V8 optimisation of the Express adapter, kept apart with its proof
 * (`test/adapters/express-hidden-class.test.ts` fails if V8 stops doing what this relies on;
 * the measurements are in bench/NOTES.md).
 *
 * Express gives every request and response its app's prototype (`Object.setPrototypeOf`), and
 * V8 then shares no hidden class between them: each property added afterwards (ours, then
 * Express's own `params`, `route`, `baseUrl`, ... as the router runs) builds a new hidden class,
 * about 2 µs each plus old-space garbage. Switching the object to hash-table ("dictionary")
 * property storage first makes each added property a table insert. Measured on this
 * repository's benchmark: four properties cost a request about 9 µs the first way and 2-3 µs
 * this way, reads included.
 * @module
 */

const SCRATCH_A = Symbol('tessera.scratch.a');
const SCRATCH_B = Symbol('tessera.scratch.b');

/**
 * Switch an object to V8's hash-table property storage before adding properties to it, by
 * deleting a property that is not the last one added. Nothing observable changes: the scratch
 * properties are symbols, and both are gone again.
 */
export function toHashTableMode(target: object): void {
  const scratch = target as Record<symbol, unknown>;
  scratch[SCRATCH_A] = 0;
  scratch[SCRATCH_B] = 0;
  delete scratch[SCRATCH_A];
  delete scratch[SCRATCH_B];
}
