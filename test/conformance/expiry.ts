/** Conformance: expired records read, touch, list and CAS as absent. */
import { expect } from 'vitest';
import { defineCases } from './harness.js';

export const expiryCases = defineCases([
  {
    id: 'expiry.read',
    name: 'reads an expired record as null',
    async run({ store, newKey, shortLived, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived());
      expect(await store.get(key)).not.toBeNull();
      await waitPastShortTtl();
      expect(await store.get(key)).toBeNull();
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
      expect(await store.get(key)).not.toBeNull();
      await advance(1);
      expect(await store.get(key)).toBeNull();
    },
  },
  {
    id: 'expiry.touch',
    name: 'refuses to touch an expired record and does not revive it',
    async run({ store, newKey, shortLived, waitPastShortTtl, now }) {
      const key = newKey();
      await store.set(key, shortLived());
      await waitPastShortTtl();
      expect(await store.touch(key, now(), now() + 3_600_000)).toBe(false);
      expect(await store.get(key)).toBeNull();
    },
  },
  {
    id: 'expiry.touch-extends',
    name: 'keeps a touched record alive past its original expiry',
    async run({ store, newKey, shortLived, waitPastShortTtl, now }) {
      const key = newKey();
      await store.set(key, shortLived({ data: { kept: true } }));
      expect(await store.touch(key, now(), now() + 3_600_000)).toBe(true);
      await waitPastShortTtl();
      expect((await store.get(key))?.data).toEqual({ kept: true });
    },
  },
  {
    id: 'expiry.create-over-expired',
    name: 'writes with expectVersion null over an expired record',
    async run({ store, newKey, shortLived, record, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived({ data: { old: true } }));
      await waitPastShortTtl();
      expect(await store.set(key, record({ data: { fresh: true } }), { expectVersion: null })).toBe(true);
      expect((await store.get(key))?.data).toEqual({ fresh: true });
    },
  },
  {
    id: 'expiry.version-on-expired',
    name: 'refuses expectVersion n over an expired record of version n',
    async run({ store, newKey, shortLived, record, waitPastShortTtl }) {
      const key = newKey();
      await store.set(key, shortLived({ version: 3 }));
      await waitPastShortTtl();
      expect(await store.set(key, record({ version: 4 }), { expectVersion: 3 })).toBe(false);
      expect(await store.get(key)).toBeNull();
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
      expect((await store.listByUser(userId)).map((e) => e.key)).toEqual([live]);
      expect(await store.deleteByUser(userId)).toBe(1);
    },
  },
]);
