/** Conformance: compare-and-set (`expectVersion`) and concurrent writers. */
import assert from 'node:assert/strict';
import type { SessionRecord, Store } from '../store/types.js';
import { assertEqual, defineCases } from './harness.js';

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

/** The cases of the `compare-and-set` group, in order. */
export const casCases = defineCases([
  {
    id: 'cas.create-once',
    name: 'writes with expectVersion null once and refuses the second time',
    async run({ store, newKey, record }) {
      const key = newKey();
      const first = await store.set(key, record({ data: { first: true } }), { expectVersion: null });
      assert.strictEqual(first, true, 'the first create must succeed');
      const second = await store.set(key, record({ data: { second: true } }), { expectVersion: null });
      assert.strictEqual(second, false, 'the second create must be refused');
      assertEqual((await store.get(key))?.data, { first: true });
    },
  },
  {
    id: 'cas.version-match',
    name: 'writes with expectVersion n only when the stored version is n',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record({ version: 5, data: { v: 5 } }));
      const stale = await store.set(key, record({ version: 6, data: { v: 'stale' } }), { expectVersion: 4 });
      assert.strictEqual(stale, false, 'expectVersion 4 over version 5 must be refused');
      const ahead = await store.set(key, record({ version: 6, data: { v: 'ahead' } }), { expectVersion: 6 });
      assert.strictEqual(ahead, false, 'expectVersion 6 over version 5 must be refused');
      assertEqual((await store.get(key))?.data, { v: 5 });
      const match = await store.set(key, record({ version: 6, data: { v: 6 } }), { expectVersion: 5 });
      assert.strictEqual(match, true, 'expectVersion 5 over version 5 must succeed');
      const read = await store.get(key);
      assert.strictEqual(read?.version, 6);
      assertEqual(read?.data, { v: 6 });
    },
  },
  {
    id: 'cas.version-missing',
    name: 'refuses expectVersion n for a key that was never written',
    async run({ store, newKey, record }) {
      const key = newKey();
      assert.strictEqual(await store.set(key, record({ version: 2 }), { expectVersion: 1 }), false);
      assert.strictEqual(await store.get(key), null);
    },
  },
  {
    id: 'cas.version-deleted',
    name: 'refuses expectVersion n for a key that was deleted',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record());
      await store.delete(key);
      assert.strictEqual(await store.set(key, record({ version: 2 }), { expectVersion: 1 }), false);
      assert.strictEqual(await store.get(key), null);
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
      assert.strictEqual(read?.version, 21);
      const expected: Record<string, unknown> = { start: true };
      for (let i = 0; i < 20; i++) expected[`w${i}`] = i;
      assertEqual(read?.data, expected);
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
      assert.strictEqual(results.filter(Boolean).length, 1, `exactly one creator must win: ${JSON.stringify(results)}`);
      const winner = results.indexOf(true);
      assertEqual((await store.get(key))?.data, { creator: winner });
    },
  },
]);
