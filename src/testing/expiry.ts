/** Conformance: expired records read, touch, list and CAS as absent. */
import assert from 'node:assert/strict';
import { assertEqual, defineCases } from './harness.js';

/** The cases of the `expiry` group, in order. */
export const expiryCases = defineCases([
  {
    id: 'expiry.read',
    name: 'reads an expired record as null',
    async run({ store, newKey, shortLived, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived());
      assert.notStrictEqual(await store.get(key), null);
      await waitPastShortTtl();
      assert.strictEqual(await store.get(key), null);
    },
  },
  {
    id: 'expiry.boundary',
    name: 'treats a record as expired from the very millisecond of its expiresAt',
    needsFakeClock: true,
    async run({ store, newKey, record, now, advance }) {
      const key = newKey();
      await store.set(key, record({ expiresAt: now() + 10 }));
      await advance(9);
      assert.notStrictEqual(await store.get(key), null);
      await advance(1);
      assert.strictEqual(await store.get(key), null);
    },
  },
  {
    id: 'expiry.touch',
    name: 'refuses to touch an expired record and does not revive it',
    async run({ store, newKey, shortLived, waitPastShortTtl, now }) {
      const key = newKey();
      await store.set(key, shortLived());
      await waitPastShortTtl();
      assert.strictEqual(await store.touch(key, now(), now() + 3_600_000), false);
      assert.strictEqual(await store.get(key), null);
    },
  },
  {
    id: 'expiry.touch-extends',
    name: 'keeps a touched record alive past its original expiry',
    async run({ store, newKey, shortLived, waitPastShortTtl, now }) {
      const key = newKey();
      await store.set(key, shortLived({ data: { kept: true } }));
      assert.strictEqual(await store.touch(key, now(), now() + 3_600_000), true);
      await waitPastShortTtl();
      assertEqual((await store.get(key))?.data, { kept: true });
    },
  },
  {
    id: 'expiry.create-over-expired',
    name: 'writes with expectVersion null over an expired record',
    async run({ store, newKey, shortLived, record, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived({ data: { old: true } }));
      await waitPastShortTtl();
      assert.strictEqual(await store.set(key, record({ data: { fresh: true } }), { expectVersion: null }), true);
      assertEqual((await store.get(key))?.data, { fresh: true });
    },
  },
  {
    id: 'expiry.version-on-expired',
    name: 'refuses expectVersion n over an expired record of version n',
    async run({ store, newKey, shortLived, record, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived({ version: 3 }));
      await waitPastShortTtl();
      assert.strictEqual(await store.set(key, record({ version: 4 }), { expectVersion: 3 }), false);
      assert.strictEqual(await store.get(key), null);
    },
  },
  {
    id: 'expiry.list',
    name: 'leaves expired sessions out of listByUser and deleteByUser counts',
    async run({ store, newKey, newUserId, shortLived, record, waitPastShortTtl }) {
      const userId = newUserId();
      const live = newKey();
      await store.set(live, record({ userId }));
      await store.set(newKey(), shortLived({ userId }));
      await waitPastShortTtl();
      assertEqual((await store.listByUser(userId)).map((e) => e.key), [live]);
      assert.strictEqual(await store.deleteByUser(userId), 1);
    },
  },
]);
