/** Conformance: reads, writes, deletes, touch, data fidelity and lifecycle. */
import assert from 'node:assert/strict';
import { isTesseraError } from '../core/errors.js';
import { assertEqual, defineCases } from './harness.js';

/** The cases of the `reads, writes and deletes` group, in order. */
export const crudCases = defineCases([
  {
    id: 'crud.missing',
    name: 'returns null for a key that was never written',
    async run({ store, newKey }) {
      assert.strictEqual(await store.get(newKey()), null);
    },
  },
  {
    id: 'crud.roundtrip',
    name: 'returns an equal but not identical record after a write',
    async run({ store, newKey, record }) {
      const key = newKey();
      const written = record({
        version: 3,
        authenticatedAt: 1_700_000_000_000,
        userId: 'alice',
        data: { cart: [1, 2, 3], theme: 'dark' },
        meta: { userAgent: 'Mozilla/5.0', ip: '203.0.113.7' },
        idleTimeoutMs: 600_000,
        cookieMaxAgeMs: null,
      });
      assert.strictEqual(await store.set(key, written), true, 'an unconditional write must succeed');
      const read = await store.get(key);
      assertEqual(read, written);
      assert.notStrictEqual(read, written, 'get() must return a copy, not the written object');
      assert.notStrictEqual(read?.data, written.data, 'get() must return a copy of data, not the written one');
    },
  },
  {
    id: 'crud.mutate-returned',
    name: 'keeps the stored record unchanged when a returned record is mutated',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record({ data: { list: [1], nested: { a: 1 } } }));
      const first = await store.get(key);
      if (!first) throw new Error('record missing');
      first.version = 99;
      first.data['extra'] = true;
      (first.data['list'] as number[]).push(2);
      (first.data['nested'] as Record<string, unknown>)['a'] = 2;
      const second = await store.get(key);
      assert.strictEqual(second?.version, 1);
      assertEqual(second?.data, { list: [1], nested: { a: 1 } });
    },
  },
  {
    id: 'crud.mutate-written',
    name: 'keeps the stored record unchanged when the written object is mutated afterwards',
    async run({ store, newKey, record }) {
      const key = newKey();
      const written = record({ data: { list: [1] } });
      await store.set(key, written);
      (written.data['list'] as number[]).push(2);
      written.data['extra'] = true;
      assertEqual((await store.get(key))?.data, { list: [1] });
    },
  },
  {
    id: 'crud.overwrite',
    name: 'replaces a record on an unconditional write',
    async run({ store, newKey, record }) {
      const key = newKey();
      await store.set(key, record({ data: { step: 1 } }));
      await store.set(key, record({ version: 2, data: { step: 2 } }));
      const read = await store.get(key);
      assert.strictEqual(read?.version, 2);
      assertEqual(read?.data, { step: 2 });
    },
  },
  {
    id: 'crud.delete',
    name: 'returns null for a key after it was deleted',
    async run({ store, newKey, record }) {
      const key = newKey();
      const other = newKey();
      await store.set(key, record());
      await store.set(other, record());
      await store.delete(key);
      assert.strictEqual(await store.get(key), null);
      assert.notStrictEqual(await store.get(other), null, 'deleting one key must leave the others');
    },
  },
  {
    id: 'crud.delete-missing',
    name: 'resolves when deleting a key that was never written',
    async run({ store, newKey }) {
      assert.strictEqual(await store.delete(newKey()), undefined);
    },
  },
  {
    id: 'crud.touch',
    name: 'updates lastSeenAt and expiresAt on touch and keeps the version and data',
    async run({ store, newKey, record, now }) {
      const key = newKey();
      const written = record({ version: 4, userId: 'bob', data: { a: 1 }, meta: { ip: '::1' } });
      await store.set(key, written);
      const lastSeenAt = now() + 1_000;
      const expiresAt = now() + 7_200_000;
      assert.strictEqual(await store.touch(key, lastSeenAt, expiresAt), true, 'touching a live record must succeed');
      assertEqual(await store.get(key), { ...written, lastSeenAt, expiresAt });
    },
  },
  {
    id: 'crud.touch-missing',
    name: 'returns false when touching a key that was never written',
    async run({ store, newKey, now }) {
      assert.strictEqual(await store.touch(newKey(), now(), now() + 60_000), false);
    },
  },
  {
    id: 'crud.data-fidelity',
    name: 'round-trips unicode, nested data and keys like __proto__ and constructor without prototype pollution',
    async run({ store, newKey, record }) {
      // JSON.parse makes "__proto__" an own key, as it would be in data parsed from a request.
      const data = JSON.parse(
        '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
          '"prototype":1,"hasOwnProperty":"x","":"empty key",' +
          '"text":"Grüße, 会话, שלום, 🔐, e\\u0301, nul:\\u0000, quote:\\" backslash:\\\\",' +
          '"nested":{"deep":{"deeper":[1,2.5,-3,true,false,null,{"k":"v"}]}},"big":9007199254740991}',
      ) as Record<string, unknown>;
      const key = newKey();
      await store.set(key, record({ data }));
      const read = await store.get(key);
      if (!read) throw new Error('record missing');
      assertEqual(read.data, data);
      assert.ok(Object.getOwnPropertyNames(read.data).includes('__proto__'), '"__proto__" must stay an own key');
      assert.strictEqual(Object.getPrototypeOf(read.data), Object.prototype, 'data must be a plain object');
      assertEqual(read.data['__proto__'], { polluted: true });
      assert.strictEqual(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was polluted');
      assert.strictEqual((Object.prototype as Record<string, unknown>)['polluted'], undefined, 'Object.prototype was polluted');
    },
  },
  {
    id: 'crud.case-sensitive-keys',
    name: 'keeps keys that differ only in letter case apart',
    async run({ store, newKey, record }) {
      const base = newKey();
      const [upper, lower] = [base.toUpperCase(), base.toLowerCase()];
      await store.set(upper, record({ data: { which: 'upper' } }));
      await store.set(lower, record({ data: { which: 'lower' } }));
      assertEqual((await store.get(upper))?.data, { which: 'upper' });
      assertEqual((await store.get(lower))?.data, { which: 'lower' });
    },
  },
  {
    id: 'lifecycle.close',
    name: 'resolves close()',
    async run({ closeStore }) {
      assert.strictEqual(await closeStore(), undefined);
    },
  },
  {
    id: 'lifecycle.closed',
    name: 'rejects with STORE_UNAVAILABLE when used after close()',
    async run({ store, closeStore, newKey }) {
      await closeStore();
      const error: unknown = await store.get(newKey()).catch((err: unknown) => err);
      const got = String(error);
      assert.strictEqual(isTesseraError(error, 'STORE_UNAVAILABLE'), true, `expected STORE_UNAVAILABLE, got ${got}`);
    },
  },
]);
