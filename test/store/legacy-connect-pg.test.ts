/**
 * The Store conformance suite on a real connect-pg-simple 10 store (`pg` pool) through
 * {@link LegacyStore}, the way `tessera/express` wraps an app's existing store.
 *
 * The table comes from connect-pg-simple's own `table.sql`, under a name unique to this run
 * (dropped afterwards).
 *
 * Clock: connect-pg-simple stores `expire` in whole seconds from `cookie.expires` and hides rows
 * by `Date.now()` (rounded up to the second) in its `get` query, so the store cannot run on the
 * suite's fake clock: the suite runs on the real one (short-lived records live `realTtlMs`, and
 * LegacyStore's millisecond expiry check hides them while the row is still readable).
 */
import { randomBytes } from 'node:crypto';
import connectPgSimple from 'connect-pg-simple';
import expressSession from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyStore } from '../../src/store/legacy.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { LEGACY_STORE_SKIPS } from '../helpers/legacy-skips.js';
import { createSessionTable, reachPostgres, serverUnavailable } from '../helpers/servers.js';

const TITLE = 'LegacyStore on connect-pg-simple 10 (pg)';
const PGStore = connectPgSimple(expressSession);
const postgres = await reachPostgres();

if (!postgres.ok) {
  serverUnavailable(TITLE, postgres.reason);
} else {
  const pool = postgres.client;
  const table = `tessera_test_cps_${randomBytes(6).toString('hex')}`;
  beforeAll(() => createSessionTable(pool, table));
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.end();
  });

  /** A connect-pg-simple store on the shared pool (which it then does not own or end). */
  const pgStore = () => new PGStore({ pool, tableName: table, pruneSessionInterval: false });

  runStoreConformance(TITLE, () => ({ store: new LegacyStore(pgStore()) }), {
    framework: { describe, it },
    fakeClock: false,
    skip: {
      ...LEGACY_STORE_SKIPS,
      'expiry.boundary':
        "needs the fake clock, and connect-pg-simple keeps `expire` in whole seconds and filters rows by Date.now() in its get query; " +
        "LegacyStore's own millisecond check hides a record from its expiresAt on, but the row lives to the next second",
    },
  });

  describe(`${TITLE}: what lands in the table`, () => {
    it('keeps each record in a row under the hashed key, expiring at expiresAt (in seconds)', async () => {
      const store = new LegacyStore(pgStore());
      const key = randomBytes(32).toString('base64url');
      const now = Date.now();
      const expiresAt = now + 90_000;
      await store.set(key, {
        version: 1,
        createdAt: now,
        authenticatedAt: null,
        lastSeenAt: now,
        expiresAt,
        userId: null,
        data: { a: 1 },
        meta: {},
      });
      const { rows } = await pool.query<{ sess: { tessera?: { data?: unknown } }; expire_s: string }>(
        `SELECT sess, extract(epoch FROM expire - localtimestamp(0)) AS expire_s FROM "${table}" WHERE sid = $1`,
        [key],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]?.sess.tessera?.data).toEqual({ a: 1 });
      const secondsLeft = Number(rows[0]?.expire_s);
      expect(secondsLeft).toBeGreaterThan(85);
      expect(secondsLeft).toBeLessThanOrEqual(91);
      await store.delete(key);
      expect((await pool.query(`SELECT 1 FROM "${table}" WHERE sid = $1`, [key])).rowCount).toBe(0);
    });
  });
}
