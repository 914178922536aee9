import { afterEach, describe, expect, it, vi } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { sampleRecord } from '../helpers/records.js';

runStoreConformance('MemoryStore', ({ now }) => ({ store: new MemoryStore({ now, sweepIntervalMs: 0 }) }), {
  framework: { describe, it },
});

// The real-clock path of the suite (used by stores whose server owns expiry, like Redis).
runStoreConformance('MemoryStore on the real clock', () => ({ store: new MemoryStore() }), {
  fakeClock: false,
  realTtlMs: 50,
  framework: { describe, it },
});

const T0 = 1_700_000_000_000;

const record = (overrides: Partial<SessionRecord> = {}): SessionRecord => sampleRecord(overrides, T0);

describe('MemoryStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('evicts the least recently used entry at maxEntries and unindexes it', async () => {
    const store = new MemoryStore({ maxEntries: 3, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ userId: 'alice' }));
    await store.set('b', record({ userId: 'alice' }));
    await store.set('c', record({ userId: 'bob' }));
    await store.get('a'); // a is now the most recently used; b is the least
    await store.set('d', record({ userId: 'bob' }));
    expect(store.size).toBe(3);
    expect(await store.get('b')).toBeNull();
    expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['a']);
    expect(await store.deleteByUser('alice')).toBe(1);
    expect((await store.listByUser('bob')).map((e) => e.key).sort()).toEqual(['c', 'd']);
  });

  it('counts a touch as a use for eviction', async () => {
    const store = new MemoryStore({ maxEntries: 2, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record());
    await store.set('b', record());
    await store.touch('a', T0, T0 + 120_000);
    await store.set('c', record());
    expect(await store.get('a')).not.toBeNull();
    expect(await store.get('b')).toBeNull();
  });

  it('does not evict anything when an existing key is rewritten at maxEntries', async () => {
    const store = new MemoryStore({ maxEntries: 2, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record());
    await store.set('b', record());
    await store.set('a', record({ version: 2 }));
    expect(store.size).toBe(2);
    expect(await store.get('b')).not.toBeNull();
  });

  it('sweeps expired entries and their index entries on the timer', async () => {
    vi.useFakeTimers();
    let now = T0;
    const store = new MemoryStore({ sweepIntervalMs: 1_000, now: () => now });
    await store.set('short', record({ userId: 'alice', expiresAt: T0 + 500 }));
    await store.set('long', record({ userId: 'alice', expiresAt: T0 + 5_000 }));
    now = T0 + 600;
    vi.advanceTimersByTime(1_000);
    expect(store.sweep()).toBe(0); // the timer already dropped it
    expect(store.size).toBe(1);
    expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['long']);
    await store.close();
  });

  it('drops expired entries when swept by hand and reports how many', async () => {
    let now = T0;
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => now });
    await store.set('a', record({ expiresAt: T0 + 10 }));
    await store.set('b', record({ expiresAt: T0 + 10 }));
    await store.set('c', record({ expiresAt: T0 + 100 }));
    now = T0 + 10;
    expect(store.sweep()).toBe(2);
    expect(store.size).toBe(1);
  });

  it('keeps nothing for a record written already expired', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record());
    expect(await store.set('a', record({ expiresAt: T0 }))).toBe(true);
    expect(store.size).toBe(0);
    expect(await store.get('a')).toBeNull();
  });

  it('empties the store on clear()', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ userId: 'alice' }));
    store.clear();
    expect(store.size).toBe(0);
    expect(await store.listByUser('alice')).toEqual([]);
  });

  it.each([
    [{ maxEntries: 0 }],
    [{ maxEntries: 1.5 }],
    [{ sweepIntervalMs: -1 }],
    [{ sweepIntervalMs: Number.NaN }],
  ])('rejects the invalid option %o at construction', (options) => {
    let error: unknown;
    try {
      new MemoryStore(options);
    } catch (err) {
      error = err;
    }
    expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
  });
});
