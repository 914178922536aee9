/**
 * The batching under the PostgreSQL store: what one turn of the event loop collects, and how
 * deltas of one key merge. Pure code, no server: the store's own use of it is tested against
 * PostgreSQL in postgres.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { MAX_BATCH, mergeDeltas, positionsByKey, spreadResult, TurnBatch } from '../../src/store/turn-batch.js';
import type { DataDelta } from '../../src/store/types.js';

const delta = (set: Record<string, unknown>, remove: string[] = [], lastSeenAt = 1, expiresAt = 2): DataDelta => ({ set, remove, lastSeenAt, expiresAt });

/** Apply deltas one after another the way every store applies one (removals, then sets). */
function applyInOrder(data: Record<string, unknown>, deltas: readonly DataDelta[]): Record<string, unknown> {
  const result = { ...data };
  for (const d of deltas) {
    for (const name of d.remove) delete result[name];
    for (const [name, value] of Object.entries(d.set)) Object.defineProperty(result, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

describe('TurnBatch', () => {
  it('hands the items added in one turn to one run, in order, and answers each caller its own result', async () => {
    const runs: number[][] = [];
    const batch = new TurnBatch<number, string>(async (items) => {
      runs.push([...items]);
      return items.map((n) => `r${n}`);
    });
    const results = await Promise.all([batch.add(1), batch.add(2), batch.add(3)]);
    expect(results).toEqual(['r1', 'r2', 'r3']);
    expect(runs).toEqual([[1, 2, 3]]);
    // A later turn starts a new batch.
    expect(await batch.add(4)).toBe('r4');
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it(`splits a turn of more than ${MAX_BATCH} items into runs of at most ${MAX_BATCH}`, async () => {
    const sizes: number[] = [];
    const batch = new TurnBatch<number, number>(async (items) => {
      sizes.push(items.length);
      return items.map((n) => n * 2);
    });
    const count = MAX_BATCH * 2 + 3;
    const results = await Promise.all(Array.from({ length: count }, (_, i) => batch.add(i)));
    expect(results).toEqual(Array.from({ length: count }, (_, i) => i * 2));
    expect(sizes).toEqual([MAX_BATCH, MAX_BATCH, 3]);
  });

  it('fails every caller of a run that rejects, and only them', async () => {
    let call = 0;
    const batch = new TurnBatch<string, string>(async (items) => {
      call++;
      if (call === 1) throw new Error('server gone');
      return [...items];
    });
    const first = await Promise.allSettled([batch.add('a'), batch.add('b')]);
    expect(first.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual(['server gone', 'server gone']);
    expect(await batch.add('c')).toBe('c');
  });

  it('still runs when an app has installed fake timers after the module loaded', async () => {
    const batch = new TurnBatch<number, number>(async (items) => [...items]);
    vi.useFakeTimers({ toFake: ['setImmediate', 'setTimeout', 'queueMicrotask'] });
    try {
      expect(await batch.add(7)).toBe(7);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('mergeDeltas', () => {
  it('gives what the deltas give applied one after another, whatever the order of sets and removals', () => {
    const start = { a: 1, b: 2, c: 3 };
    const cases: DataDelta[][] = [
      [delta({ x: 1 }), delta({ y: 2 })],
      [delta({ a: 10 }), delta({}, ['a'])], // set, then removed: gone
      [delta({}, ['a']), delta({ a: 20 })], // removed, then set: set
      [delta({ b: 1 }, ['c']), delta({ c: 5 }, ['b']), delta({ b: 7 })],
      [delta({ n: { deep: true } }), delta({ n: [1] })], // a set replaces the value whole
    ];
    for (const deltas of cases) {
      const merged = mergeDeltas(deltas);
      expect(applyInOrder(start, [merged])).toEqual(applyInOrder(start, deltas));
      expect(merged.steps).toBe(deltas.length);
    }
  });

  it('keeps the latest lastSeenAt and expiresAt, and one delta as it is', () => {
    const merged = mergeDeltas([delta({ a: 1 }, [], 30, 100), delta({ b: 1 }, [], 10, 300), delta({}, ['c'], 20, 200)]);
    expect([merged.lastSeenAt, merged.expiresAt]).toEqual([30, 300]);
    const one = delta({ a: 1 }, ['b'], 5, 6);
    expect(mergeDeltas([one])).toEqual({ ...one, steps: 1 });
  });

  it('treats a key named __proto__ as data, never as the prototype', () => {
    // JSON.parse makes `__proto__` an own key, as a request's data can have it.
    const own = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const merged = mergeDeltas([delta(own), delta({ a: 1 })]);
    expect(JSON.stringify(merged.set)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(Object.getPrototypeOf(merged.set)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const removed = mergeDeltas([delta(own), delta({}, ['__proto__'])]);
    expect(JSON.stringify(removed.set)).toBe('{}');
    expect(removed.remove).toEqual(['__proto__']);
  });
});

describe('positionsByKey and spreadResult', () => {
  it('groups positions by key in first-seen order, and gives each merged delta its own version', () => {
    expect([...positionsByKey([{ key: 'b' }, { key: 'a' }, { key: 'b' }])]).toEqual([['b', [0, 2]], ['a', [1]]]);
    expect(spreadResult(7, 3)).toEqual([5, 6, 7]);
    expect(spreadResult(null, 2)).toEqual([null, null]);
    expect(spreadResult('unsupported' as const, 2)).toEqual(['unsupported', 'unsupported']);
  });
});
