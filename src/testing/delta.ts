/**
 * Conformance: `applyDelta`, the one-round-trip write of a request's data changes. The method is
 * optional; a store without it passes these cases by having nothing to check (the engine then
 * compare-and-sets every write), and a store that has it must apply every delta exactly.
 * @module
 */
import assert from 'node:assert/strict';
import type { DataDelta, SessionRecord, Store } from '../store/types.js';
import { assertEqual, defineCases, type CaseContext } from './harness.js';

type Apply = (key: string, delta: DataDelta) => Promise<number | null | 'unsupported'>;

/** The store's `applyDelta`, or `undefined` when it has none (then the case has nothing to check). */
function applier(store: Store): Apply | undefined {
  return typeof store.applyDelta === 'function' ? store.applyDelta.bind(store) : undefined;
}

/** A delta that keeps the record's times. */
function delta(record: SessionRecord, set: Record<string, unknown>, remove: string[] = []): DataDelta {
  return { set, remove, lastSeenAt: record.lastSeenAt, expiresAt: record.expiresAt };
}

/** Write `record` under a fresh key and return the key. */
async function stored(t: CaseContext, record: SessionRecord): Promise<string> {
  const key = t.newKey();
  assert.strictEqual(await t.store.set(key, record), true, 'the setup write must succeed');
  return key;
}

/** Keys and values no store may mangle: quoting, paths, prototypes, unicode, numbers at JSON's edges. */
const AWKWARD: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, {
  'a.b': 1,
  '$.x': 'dollar',
  'q"uote': "it's \"quoted\"",
  'back\\slash': '\\',
  'arr[0]': [0],
  'ключ 🔑': 'ünïcødé 🔑',
  '': 'empty key',
  '*': null,
  big: Number.MAX_SAFE_INTEGER,
  tiny: 5e-324,
  float: 0.1,
  negative: -0.5,
  nested: { deep: { list: [1, 'two', null, { three: true }], empty: {}, none: [] } },
  nulls: { a: null },
});
Object.defineProperty(AWKWARD, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });

/** The cases of the `delta writes` group, in order. */
export const deltaCases = defineCases([
  {
    id: 'delta.set-remove',
    name: 'applyDelta sets and removes the given keys, keeps every other field, and adds 1 to the version',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const userId = t.newUserId();
      const record = t.record({ version: 4, userId, data: { a: 1, b: { x: 1 }, c: 3 }, meta: { userAgent: 'm' } });
      const key = await stored(t, record);
      const result = await apply(key, delta(record, { b: { y: 2 }, d: [4] }, ['c', 'never-there']));
      assert.strictEqual(result, 5, 'applyDelta must return the new version');
      const read = await t.store.get(key);
      assertEqual(read?.data, { a: 1, b: { y: 2 }, d: [4] }, 'a set replaces the value whole (no deep merge)');
      assert.strictEqual(read?.version, 5);
      assert.strictEqual(read?.userId, userId);
      assert.strictEqual(read?.createdAt, record.createdAt);
      assertEqual(read?.meta, { userAgent: 'm' });
    },
  },
  {
    id: 'delta.awkward-keys',
    name: 'applyDelta keeps keys and values with quotes, dots, unicode, __proto__ and numbers at the edges of JSON exact',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record({ data: { keep: 'me', 'q"uote': 'old' } });
      const key = await stored(t, record);
      const result = await apply(key, delta(record, AWKWARD));
      const read = await t.store.get(key);
      if (result === 'unsupported') {
        assertEqual(read?.data, record.data, "a delta the store answers 'unsupported' must change nothing");
        return;
      }
      assert.strictEqual(typeof result, 'number');
      assertEqual(read?.data, { keep: 'me', ...AWKWARD });
      assertEqual((read?.data as Record<string, unknown>)['__proto__'], { polluted: true }, '__proto__ is data');
      const removal = await apply(key, delta(record, {}, Object.keys(AWKWARD)));
      assert.notStrictEqual(removal, null);
      if (removal !== 'unsupported') assertEqual((await t.store.get(key))?.data, { keep: 'me' });
    },
  },
  {
    id: 'delta.awkward-values',
    name: 'applyDelta applies values with quotes, unicode, nulls and numbers at the edges of JSON exactly, under plain keys',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record({ data: { keep: 'me' } });
      const key = await stored(t, record);
      const values = Object.fromEntries(Object.entries(AWKWARD).map(([, value], i) => [`k${i}`, value]));
      values['text'] = 'it\'s "quoted" \\ ключ 🔑 </script>';
      const result = await apply(key, delta(record, values));
      assert.strictEqual(typeof result, 'number', `plain keys must apply, got ${String(result)}`);
      assertEqual((await t.store.get(key))?.data, { keep: 'me', ...values });
    },
  },
  {
    id: 'delta.missing',
    name: 'applyDelta answers null for a key never written or deleted, and creates nothing',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record();
      const never = t.newKey();
      assert.strictEqual(await apply(never, delta(record, { a: 1 })), null);
      assert.strictEqual(await t.store.get(never), null);
      const deleted = await stored(t, record);
      await t.store.delete(deleted);
      assert.strictEqual(await apply(deleted, delta(record, { a: 1 })), null);
      assert.strictEqual(await t.store.get(deleted), null, 'a delta must never resurrect a deleted session');
    },
  },
  {
    id: 'delta.expired',
    name: 'applyDelta answers null for an expired record and does not bring it back',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.shortLived({ data: { a: 1 } });
      const key = await stored(t, record);
      await t.waitPastShortTtl();
      const later = { set: { b: 2 }, remove: [], lastSeenAt: t.now(), expiresAt: t.now() + 3_600_000 };
      assert.strictEqual(await apply(key, later), null);
      assert.strictEqual(await t.store.get(key), null);
    },
  },
  {
    id: 'delta.times-forward',
    name: 'applyDelta moves lastSeenAt and expiresAt forward, never back',
    needsFakeClock: true,
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record({ data: { a: 1 } });
      const key = await stored(t, record);
      const older = { set: { b: 2 }, remove: [], lastSeenAt: record.lastSeenAt - 5_000, expiresAt: record.expiresAt - 5_000 };
      assert.strictEqual(await apply(key, older), 2);
      let read = await t.store.get(key);
      assert.strictEqual(read?.lastSeenAt, record.lastSeenAt, 'an older lastSeenAt must not win');
      assert.strictEqual(read?.expiresAt, record.expiresAt, 'an earlier expiresAt must not win');
      await t.advance(10_000);
      const newer = { set: { c: 3 }, remove: [], lastSeenAt: t.now(), expiresAt: record.expiresAt + 7_200_000 };
      assert.strictEqual(await apply(key, newer), 3);
      read = await t.store.get(key);
      assert.strictEqual(read?.lastSeenAt, newer.lastSeenAt);
      assert.strictEqual(read?.expiresAt, newer.expiresAt);
      // The new deadline is the store's too: past the old one, the record is still there.
      await t.advance(3_600_000 + 60_000);
      assertEqual((await t.store.get(key))?.data, { a: 1, b: 2, c: 3 });
    },
  },
  {
    id: 'delta.concurrent',
    name: 'keeps every key of 20 concurrent deltas, with no version check and no retry',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record({ version: 1, data: { start: true } });
      const key = await stored(t, record);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => apply(key, delta(record, { [`w${i}`]: i }))));
      assert.ok(!results.includes(null) && !results.includes('unsupported'), `every delta must apply: ${JSON.stringify(results)}`);
      assert.deepStrictEqual(
        [...(results as number[])].sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 2),
        'each delta must see the one before it: versions 2..21, once each',
      );
      const read = await t.store.get(key);
      assert.strictEqual(read?.version, 21);
      const expected: Record<string, unknown> = { start: true };
      for (let i = 0; i < 20; i++) expected[`w${i}`] = i;
      assertEqual(read?.data, expected);
    },
  },
  {
    id: 'delta.then-cas',
    name: 'a compare-and-set after a delta sees the version the delta returned',
    async run(t) {
      const apply = applier(t.store);
      if (!apply) return;
      const record = t.record({ version: 1, data: { a: 1 } });
      const key = await stored(t, record);
      const version = await apply(key, delta(record, { b: 2 }));
      assert.strictEqual(version, 2);
      const stale = await t.store.set(key, { ...record, version: 2, data: { stale: true } }, { expectVersion: 1 });
      assert.strictEqual(stale, false, 'the version before the delta must no longer match');
      const read = await t.store.get(key);
      assertEqual(read?.data, { a: 1, b: 2 });
      const fresh = await t.store.set(key, { ...read!, version: 3, data: { ...read!.data, c: 3 } }, { expectVersion: 2 });
      assert.strictEqual(fresh, true);
      assertEqual((await t.store.get(key))?.data, { a: 1, b: 2, c: 3 });
    },
  },
]);
