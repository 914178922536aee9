/** Conformance: the per-user index (`listByUser`, `deleteByUser`). */
import assert from 'node:assert/strict';
import type { UserSessionEntry } from '../store/types.js';
import { assertEqual, defineCases } from './harness.js';

const byKey = (entries: UserSessionEntry[]): UserSessionEntry[] =>
  [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** The cases of the `per-user index` group, in order. */
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
      assertEqual(byKey(await store.listByUser(alice)), byKey([a1, a2]));
    },
  },
  {
    id: 'users.list-unknown',
    name: 'returns an empty list for a user without sessions',
    async run({ store, newUserId }) {
      assertEqual(await store.listByUser(newUserId()), []);
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
      assertEqual((await store.listByUser(userId)).map((e) => e.key), [kept]);
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
      assertEqual(await store.listByUser(lower), []);
      assertEqual((await store.listByUser(upper)).map((e) => e.key), [key]);
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
      assert.strictEqual(await store.deleteByUser(alice), 3);
      for (const key of aliceKeys) assert.strictEqual(await store.get(key), null);
      assertEqual(await store.listByUser(alice), []);
      assert.notStrictEqual(await store.get(bobKey), null);
      assert.strictEqual((await store.listByUser(bob)).length, 1);
      assert.strictEqual(await store.deleteByUser(alice), 0);
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
      assert.strictEqual(await store.deleteByUser(alice, { exceptKey: current }), 2);
      assertEqual((await store.listByUser(alice)).map((e) => e.key), [current]);
      assert.notStrictEqual(await store.get(current), null);
      assert.notStrictEqual(await store.get(bobKey), null);
      // A key of another user as exceptKey protects nothing of this user's.
      assert.strictEqual(await store.deleteByUser(alice, { exceptKey: bobKey }), 1);
      assert.notStrictEqual(await store.get(bobKey), null);
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
      assertEqual(await store.listByUser(alice), []);
      assertEqual((await store.listByUser(bob)).map((e) => e.key), [key]);
      await store.set(key, record({ version: 3, userId: null }));
      assertEqual(await store.listByUser(bob), []);
      assert.strictEqual(await store.deleteByUser(bob), 0);
      assert.notStrictEqual(await store.get(key), null);
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
      assert.strictEqual(entry?.key, key);
      assert.strictEqual(entry?.record.expiresAt, expiresAt);
    },
  },
]);
