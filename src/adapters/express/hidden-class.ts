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
 *
 * How it switches matters as much: V8 switches an object when a property other than the last
 * one added is deleted. Adding two scratch properties to delete the first (the way this began)
 * built two hidden classes per object and cost about 6 µs per request; deleting the request's
 * or response's own `_events` (EventEmitter's constructor adds it first, so it is never the
 * last) and putting the same value back is one step, and made a session read about as cheap as
 * bare Express in `bench/micro.ts`.
 * @module
 */

const SCRATCH_A = Symbol('tessera.scratch.a');
const SCRATCH_B = Symbol('tessera.scratch.b');

/**
 * Switch an object to V8's hash-table property storage before adding properties to it.
 *
 * An event emitter (every `IncomingMessage` and `ServerResponse`) loses and at once gets back
 * its own `_events` data property, with the same value: the one thing that differs afterwards
 * is that `_events` comes last in `Object.keys`. Any other object gets two scratch symbol
 * properties and loses them again, which changes nothing observable.
 */
export function toHashTableMode(target: object): void {
  const events = Object.getOwnPropertyDescriptor(target, '_events');
  if (events !== undefined && events.writable === true && events.enumerable === true && events.configurable === true) {
    const emitter = target as { _events?: unknown };
    delete emitter._events;
    emitter._events = events.value;
    return;
  }
  const scratch = target as Record<symbol, unknown>;
  scratch[SCRATCH_A] = 0;
  scratch[SCRATCH_B] = 0;
  delete scratch[SCRATCH_A];
  delete scratch[SCRATCH_B];
}
