/** Conformance: compare-and-set (`expectVersion`) and concurrent writers. */
import { expect } from 'vitest';
import type { SessionRecord, Store } from '../../src/store/types.js';
import { defineCases } from './harness.js';

/** Read, add `data[name] = value`, write with CAS; retry on conflict. Returns the attempts used. */
async function addWithRetry(store: Store, key: string, name: string, value: unknown): Promise<number> {
  for (let attempt = 1; attempt <= 200; attempt++) {
    const current = await store.get(key);
    if (!current) throw new Error(`record ${key} vanished`);
    const next: SessionRecord = {
      ...current,
      version: current.version + 1,
      data: { ...current.data, [name]: value },
    };
    if (await store.set(key, next, { expectVersion: current.version })) return attempt;
  }
  throw new Error(`writer ${name} gave up after 200 conflicts`);
}

export const casCases = defineCases([
  {
    id: 'cas.create-once',
    name: 'writes with expectVersion null once and refuses the second time',
    async run({ store, newKey, record }) {
      const key = newKey();
      expect(await store.set(key, record({ data: { first: true } }), { expectVersion: null })).toBe(true);
      expect(await store.set(key, record({ data: { second: true } }), { expectVersion: null })).toBe(false);
      expect((await store.get(key))?.data).toEqual({ first: true });
    },
  },
  {
    id: 'cas.version-match',
    name: 'writes with expectVersion n only when the stored version is n',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record({ version: 5, data: { v: 5 } }));
      expect(await store.set(key, record({ version: 6, data: { v: 'stale' } }), { expectVersion: 4 })).toBe(false);
      expect(await store.set(key, record({ version: 6, data: { v: 'ahead' } }), { expectVersion: 6 })).toBe(false);
      expect((await store.get(key))?.data).toEqual({ v: 5 });
      expect(await store.set(key, record({ version: 6, data: { v: 6 } }), { expectVersion: 5 })).toBe(true);
      const read = await store.get(key);
      expect(read?.version).toBe(6);
      expect(read?.data).toEqual({ v: 6 });
    },
  },
  {
    id: 'cas.version-missing',
    name: 'refuses expectVersion n for a key that was never written',
    async run({ store, newKey, record }) {
      const key = newKey();
      expect(await store.set(key, record({ version: 2 }), { expectVersion: 1 })).toBe(false);
      expect(await store.get(key)).toBeNull();
    },
  },
  {
    id: 'cas.version-deleted',
    name: 'refuses expectVersion n for a key that was deleted',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record());
      await store.delete(key);
      expect(await store.set(key, record({ version: 2 }), { expectVersion: 1 })).toBe(false);
      expect(await store.get(key)).toBeNull();
    },
  },
  {
    id: 'cas.concurrent-writers',
    name: 'keeps every change of 20 concurrent read-modify-write writers that retry on conflict',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record({ version: 1, data: { start: true } }));
      const writers = Array.from({ length: 20 }, (_, i) => addWithRetry(store, key, `w${i}`, i));
      await Promise.all(writers);
      const read = await store.get(key);
      expect(read?.version).toBe(21);
      const expected: Record<string, unknown> = { start: true };
      for (let i = 0; i < 20; i++) expected[`w${i}`] = i;
      expect(read?.data).toEqual(expected);
    },
  },
  {
    id: 'cas.concurrent-create',
    name: 'lets exactly one of 10 concurrent creators with expectVersion null win',
    async run({ store, newKey, record }) {
      const key = newKey();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.set(key, record({ data: { creator: i } }), { expectVersion: null }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.get(key))?.data).toEqual({ creator: winner });
    },
  },
]);
