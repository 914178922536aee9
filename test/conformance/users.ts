/** Conformance: the per-user index (`listByUser`, `deleteByUser`). */
import { expect } from 'vitest';
import type { UserSessionEntry } from '../../src/store/types.js';
import { defineCases } from './harness.js';

const byKey = (entries: UserSessionEntry[]): UserSessionEntry[] =>
  [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

export const userCases = defineCases([
  {
    id: 'users.list',
    name: "lists only the user's live sessions, with keys and records",
    async run({ store, newKey, newUserId, record }) {
      const [alice, bob] = [newUserId(), newUserId()];
      const a1 = { key: newKey(), record: record({ userId: alice, data: { n: 1 } }) };
      const a2 = { key: newKey(), record: record({ userId: alice, data: { n: 2 } }) };
      for (const e of [a1, a2]) await store.set(e.key, e.record);
      await store.set(newKey(), record({ userId: bob }));
      await store.set(newKey(), record({ userId: null }));
      expect(byKey(await store.listByUser(alice))).toEqual(byKey([a1, a2]));
    },
  },
  {
    id: 'users.list-unknown',
    name: 'returns an empty list for a user without sessions',
    async run({ store, newUserId }) {
      expect(await store.listByUser(newUserId())).toEqual([]);
    },
  },
  {
    id: 'users.list-after-delete',
    name: 'stops listing a session once it is deleted',
    async run({ store, newKey, newUserId, record }) {
      const userId = newUserId();
      const [kept, gone] = [newKey(), newKey()];
      await store.set(kept, record({ userId }));
      await store.set(gone, record({ userId }));
      await store.delete(gone);
      expect((await store.listByUser(userId)).map((e) => e.key)).toEqual([kept]);
    },
  },
  {
    id: 'users.case-sensitive',
    name: 'treats user ids that differ only in letter case as different users',
    async run({ store, newKey, newUserId, record }) {
      const lower = newUserId().toLowerCase();
      const upper = lower.toUpperCase();
      const key = newKey();
      await store.set(key, record({ userId: upper }));
      expect(await store.listByUser(lower)).toEqual([]);
      expect((await store.listByUser(upper)).map((e) => e.key)).toEqual([key]);
    },
  },
  {
    id: 'users.delete',
    name: "deletes all of a user's sessions, returns the count and leaves other users alone",
    async run({ store, newKey, newUserId, record }) {
      const [alice, bob] = [newUserId(), newUserId()];
      const aliceKeys = [newKey(), newKey(), newKey()];
      const bobKey = newKey();
      for (const key of aliceKeys) await store.set(key, record({ userId: alice }));
      await store.set(bobKey, record({ userId: bob }));
      expect(await store.deleteByUser(alice)).toBe(3);
      for (const key of aliceKeys) expect(await store.get(key)).toBeNull();
      expect(await store.listByUser(alice)).toEqual([]);
      expect(await store.get(bobKey)).not.toBeNull();
      expect(await store.listByUser(bob)).toHaveLength(1);
      expect(await store.deleteByUser(alice)).toBe(0);
    },
  },
  {
    id: 'users.delete-except',
    name: 'keeps exceptKey when deleting the rest of a user\'s sessions',
    async run({ store, newKey, newUserId, record }) {
      const [alice, bob] = [newUserId(), newUserId()];
      const [current, other1, other2, bobKey] = [newKey(), newKey(), newKey(), newKey()];
      for (const key of [current, other1, other2]) await store.set(key, record({ userId: alice }));
      await store.set(bobKey, record({ userId: bob }));
      expect(await store.deleteByUser(alice, { exceptKey: current })).toBe(2);
      expect((await store.listByUser(alice)).map((e) => e.key)).toEqual([current]);
      expect(await store.get(current)).not.toBeNull();
      expect(await store.get(bobKey)).not.toBeNull();
      // A key of another user as exceptKey protects nothing of this user's.
      expect(await store.deleteByUser(alice, { exceptKey: bobKey })).toBe(1);
      expect(await store.get(bobKey)).not.toBeNull();
    },
  },
  {
    id: 'users.move',
    name: 'moves a session in the index when it is rewritten with another userId',
    async run({ store, newKey, newUserId, record }) {
      const [alice, bob] = [newUserId(), newUserId()];
      const key = newKey();
      await store.set(key, record({ userId: alice }));
      await store.set(key, record({ version: 2, userId: bob }));
      expect(await store.listByUser(alice)).toEqual([]);
      expect((await store.listByUser(bob)).map((e) => e.key)).toEqual([key]);
      await store.set(key, record({ version: 3, userId: null }));
      expect(await store.listByUser(bob)).toEqual([]);
      expect(await store.deleteByUser(bob)).toBe(0);
      expect(await store.get(key)).not.toBeNull();
    },
  },
  {
    id: 'users.touch-keeps-index',
    name: 'keeps a touched session listed under its user',
    async run({ store, newKey, newUserId, record, now }) {
      const userId = newUserId();
      const key = newKey();
      await store.set(key, record({ userId }));
      const expiresAt = now() + 7_200_000;
      await store.touch(key, now(), expiresAt);
      const [entry] = await store.listByUser(userId);
      expect(entry?.key).toBe(key);
      expect(entry?.record.expiresAt).toBe(expiresAt);
    },
  },
]);
