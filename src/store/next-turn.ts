/**
 * The next turn of the event loop, for stores that answer without I/O of their own (the
 * MemoryStore, and SQLite through a synchronous driver), and for the batches of the PostgreSQL
 * and MySQL stores (`./turn-batch.js`). Such a store answers after the I/O that is ready, as a
 * store across a network does: under load the event loop then takes in every ready request
 * before the answers (and the responses) go out, instead of sending each response before the
 * next request is read, which measured over loopback about 9 µs more
 * kernel time per request (bench/NOTES.md). Code tested on such a store also sees requests
 * interleave at store calls, as they will in production.
 * @module
 */

/**
 * `setImmediate` as it was when this module loaded: fake timers installed later by an app's
 * tests (which replace the global) never stall a store.
 */
const realSetImmediate = setImmediate;

/** Resolves on the next turn of the event loop, after the I/O that is ready. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    realSetImmediate(resolve);
  });
}

/** Run `callback` on the next turn of the event loop, after the I/O that is ready. */
export function onNextTurn(callback: () => void): void {
  realSetImmediate(callback);
}
