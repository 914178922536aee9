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

describe('MemoryStore bounds for hostile load', () => {
  const MiB = 1024 * 1024;

  it('holds maxBytes with 1 MiB values: never more bytes than the bound, and the newest kept', async () => {
    const store = new MemoryStore({ maxBytes: 8 * MiB, sweepIntervalMs: 0, now: () => T0 });
    for (let i = 0; i < 50; i++) {
      await store.set(`k${i}`, record({ data: { blob: 'x'.repeat(MiB) } }));
      expect(store.bytes).toBeLessThanOrEqual(8 * MiB);
    }
    expect(store.size).toBe(7);
    expect(await store.get('k49')).not.toBeNull();
    expect(await store.get('k0')).toBeNull();
  });

  it('counts bytes of UTF-8, and gives them back when entries go', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ data: { s: 'é'.repeat(1000) } }));
    const withA = store.bytes;
    expect(withA).toBeGreaterThan(2000);
    await store.set('b', record());
    await store.delete('a');
    await store.delete('b');
    expect(store.bytes).toBe(0);
    // A rewrite counts the new record only.
    await store.set('a', record({ data: { s: 'x'.repeat(5000) } }));
    await store.set('a', record({ version: 2 }));
    const fresh = new MemoryStore({ sweepIntervalMs: 0, now: () => T0 });
    await fresh.set('a', record({ version: 2 }));
    expect(store.bytes).toBe(fresh.bytes);
  });

  it('refuses a single record larger than maxBytes, and keeps the session it would have replaced', async () => {
    const store = new MemoryStore({ maxBytes: MiB, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ data: { n: 1 } }));
    const error = await store.set('a', record({ version: 2, data: { blob: 'x'.repeat(2 * MiB) } })).catch((e: unknown) => e);
    expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((await store.get('a'))?.data).toEqual({ n: 1 });
  });

  it('counts a delta that grows a record: evicts least recently used to fit, keeps the user index', async () => {
    const store = new MemoryStore({ maxBytes: 64 * 1024, sweepIntervalMs: 0, now: () => T0 });
    await store.set('old', record({ data: { s: 'o'.repeat(20_000) } }));
    await store.set('mine', record({ userId: 'alice', data: { n: 1 } }));
    const delta = { set: { blob: 'x'.repeat(50_000) }, remove: ['n'], lastSeenAt: T0, expiresAt: T0 + 120_000 };
    expect(await store.applyDelta('mine', delta)).toBe(2);
    expect(store.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(await store.get('old')).toBeNull();
    expect((await store.get('mine'))?.data).toEqual({ blob: 'x'.repeat(50_000) });
    expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['mine']);
    // Shrinking gives the bytes back: the same as a fresh store holding the same record.
    await store.applyDelta('mine', { ...delta, set: {}, remove: ['blob'] });
    const fresh = new MemoryStore({ sweepIntervalMs: 0, now: () => T0 });
    await fresh.set('mine', (await store.get('mine'))!);
    expect(store.bytes).toBe(fresh.bytes);
  });

  it('refuses a delta that would make one record larger than maxBytes, and keeps the record as it was', async () => {
    const store = new MemoryStore({ maxBytes: MiB, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ data: { n: 1 } }));
    const bytes = store.bytes;
    const error = await store
      .applyDelta('a', { set: { blob: 'x'.repeat(2 * MiB) }, remove: [], lastSeenAt: T0, expiresAt: T0 + 120_000 })
      .catch((e: unknown) => e);
    expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((await store.get('a'))?.data).toEqual({ n: 1 });
    expect(store.bytes).toBe(bytes);
  });

  it('evicts anonymous sessions before signed-in ones, by entries and by bytes', async () => {
    const store = new MemoryStore({ maxEntries: 100, sweepIntervalMs: 0, now: () => T0 });
    for (let u = 0; u < 10; u++) await store.set(`user${u}`, record({ userId: `u${u}` }));
    for (let i = 0; i < 10_000; i++) await store.set(`anon${i}`, record());
    for (let u = 0; u < 10; u++) expect(await store.get(`user${u}`), `user${u}`).not.toBeNull();
    expect(store.size).toBe(100);

    const byBytes = new MemoryStore({ maxBytes: 64 * 1024, sweepIntervalMs: 0, now: () => T0 });
    await byBytes.set('signed-in', record({ userId: 'alice', data: { s: 'x'.repeat(1000) } }));
    for (let i = 0; i < 500; i++) await byBytes.set(`anon${i}`, record({ data: { s: 'y'.repeat(1000) } }));
    expect(await byBytes.get('signed-in')).not.toBeNull();
    expect(byBytes.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it('evicts signed-in sessions, least recently used first, only when no anonymous one is left', async () => {
    const store = new MemoryStore({ maxEntries: 2, sweepIntervalMs: 0, now: () => T0 });
    await store.set('a', record({ userId: 'alice' }));
    await store.set('b', record({ userId: 'bob' }));
    await store.set('c', record({ userId: 'carol' }));
    expect(await store.get('a')).toBeNull();
    expect((await store.listByUser('alice'))).toEqual([]);
    expect(await store.get('c')).not.toBeNull();
  });

  it('refuses a maxBytes below 1 KiB at construction', () => {
    expect(() => new MemoryStore({ maxBytes: 10 })).toThrow(/maxBytes/);
  });
});
