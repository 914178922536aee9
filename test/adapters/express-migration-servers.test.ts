/**
 * Moving an app from express-session to `tessera/express` on the real stores people run it on:
 * connect-redis 9 (node-redis v5) and connect-pg-simple 10. A real express-session app (1.19)
 * signs users in; then the same app runs on tessera with the SAME store instance and secret.
 * The users stay signed in with their data, get a tessera cookie on that first request, their
 * express-session entry leaves the server, the old `s:` cookie stops working, and the session now
 * lives in the same server as a tessera record (through the legacy adapter).
 *
 * Servers come from `REDIS_URL` / `DATABASE_URL` (see test/helpers/servers.ts); when one is
 * unreachable its tests are skipped with the reason, or fail on CI.
 */
import { randomBytes } from 'node:crypto';
import connectPgSimple from 'connect-pg-simple';
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpressSessionOptions } from '../../src/adapters/express/index.js';
import { LegacyStore } from '../../src/store/legacy.js';
import type { SessionRecord } from '../../src/store/types.js';
import {
  SECRET,
  TESSERA_VALUE,
  cookieOf,
  createApp,
  fakeClock,
  isClearing,
  sess,
  sessionCookie,
  sessionId,
  storeKeyOfValue,
} from './express-helpers.js';
import { createSessionTable, reachPostgres, reachRedis, serverUnavailable } from '../helpers/servers.js';

/** express-session's README secret, kept in the ring only to verify old cookies. */
const OLD_SECRET = 'keyboard cat';
/** tessera's default rotationGrace and maxClockSkew, in ms: how long an old cookie opens the session it moved to. */
const ROTATION_GRACE_MS = 30_000;
const MAX_CLOCK_SKEW_MS = 120_000;
/** A strong secret the express-session app already used (and tessera then keeps as is). */
const STRONG_OLD_SECRET = 'an-express-session-secret-that-was-strong-already-0123456789';

/** The secret the express-session app ran with, and the one tessera/express is given. */
interface SecretSetup {
  title: string;
  before: string;
  after: ExpressSessionOptions['secret'];
}

const SECRETS: SecretSetup[] = [
  { title: 'the same strong secret', before: STRONG_OLD_SECRET, after: STRONG_OLD_SECRET },
  { title: `[newStrong, '${OLD_SECRET}']`, before: OLD_SECRET, after: [SECRET, OLD_SECRET] },
];

/** The express-session store of the app, and how a test looks into its server. */
interface Backend {
  name: string;
  store: expressSession.Store;
  /** Whether the server still holds express-session's entry for `sid`. */
  hasLegacy(sid: string): Promise<boolean>;
  /** The raw entry under a tessera store key, and how many seconds the server keeps it. */
  readRaw(key: string): Promise<{ entry: { tessera?: SessionRecord; cookie?: unknown } | null; secondsLeft: number | null }>;
}

/** The app as it ran on express-session: sign-in stores a user and a cart. */
function legacyApp(store: expressSession.Store, secret: string): Express {
  const app = express();
  app.use(expressSession({ secret, store, resave: false, saveUninitialized: false }));
  app.post('/login/:user', (req, res) => {
    const s = req.session as unknown as Record<string, unknown>;
    s['passport'] = { user: req.params.user };
    s['cart'] = ['apple', 'pear'];
    res.send(req.sessionID);
  });
  return app;
}

/** What the tessera app's routes answer. */
interface Me {
  user: string | null;
  cart: string[] | null;
  id: string;
}

/** The same app on tessera/express, with the same store instance. */
function tesseraApp(store: expressSession.Store, secret: ExpressSessionOptions['secret'], now?: () => number): Express {
  return createApp({ store, secret, ...(now && { now }) }, (req, res) => {
    const s = sess(req);
    if (req.path === '/add') (s['cart'] as string[]).push('plum');
    const passport = s['passport'] as { user: string } | undefined;
    const body: Me = { user: passport?.user ?? null, cart: (s['cart'] as string[] | undefined) ?? null, id: sessionId(req) };
    res.json(body);
  }).app;
}

/** Sign in on express-session; returns its cookie header and the raw session id. */
async function signInOnExpressSession(app: Express, user: string): Promise<{ cookie: string; sid: string }> {
  const res = await request(app).post(`/login/${user}`).expect(200);
  const cookie = cookieOf(res);
  const value = decodeURIComponent(cookie.slice('connect.sid='.length));
  expect(value.startsWith('s:')).toBe(true);
  const sid = remember(value.slice(2, value.lastIndexOf('.')));
  expect(sid).toBe(res.text);
  return { cookie, sid };
}

const IDLE_S = 30 * 60;
/** A migrated session is kept for the idle timeout (30 min) plus the store grace (60 s). */
/** What a legacy store keeps a session for: its idle timeout (cookie.expires is the session's deadline). */
const KEPT_S = IDLE_S;

const uniqueUser = (name: string): string => `${name}-${randomBytes(4).toString('hex')}`;

/**
 * Every session id and store key the tests came to know, as soon as they know it (before any
 * assertion can fail), so the Redis suite removes what it wrote even after a failure.
 */
const seenIds = new Set<string>();
const remember = (id: string): string => (seenIds.add(id), id);

function migrationSuite(backend: Backend): void {
  describe.each(SECRETS)(`migrating from express-session on ${backend.name} with $title`, ({ before, after }) => {
    it('keeps live users signed in, moves them to tessera tokens in the same server, and retires their old cookies', async () => {
      const legacy = legacyApp(backend.store, before);
      const users = [uniqueUser('alice'), uniqueUser('bob')];
      const old = await Promise.all(users.map((user) => signInOnExpressSession(legacy, user)));
      for (const { sid } of old) expect(await backend.hasLegacy(sid)).toBe(true);

      const clock = fakeClock();
      const app = tesseraApp(backend.store, after, clock.now);
      const seen = new Set<string>();
      const moved: Array<{ cookie: string; sid: string; key: string }> = [];
      for (const [i, user] of users.entries()) {
        const { cookie, sid } = old[i]!;
        // The old cookie still works, once: the user is signed in with the data, and upgraded.
        const first = await request(app).get('/me').set('Cookie', cookie).expect(200);
        remember(String((first.body as Me).id));
        expect(first.body).toEqual({ user, cart: ['apple', 'pear'], id: expect.any(String) });
        const upgraded = sessionCookie(first);
        expect(upgraded?.value).toMatch(TESSERA_VALUE);
        expect(first.get('Cache-Control')).toBe('no-store');
        const key = remember(storeKeyOfValue(upgraded!.value));
        expect((first.body as Me).id).toBe(key);
        expect(seen.has(key)).toBe(false);
        seen.add(key);

        // express-session's entry left the server; the session is now a tessera record there,
        // kept for the idle timeout (the TTL/expiry the wrapped store took from cookie.expires).
        expect(await backend.hasLegacy(sid)).toBe(false);
        const raw = await backend.readRaw(key);
        expect(raw.entry?.tessera).toMatchObject({ userId: null, data: { passport: { user }, cart: ['apple', 'pear'] } });
        expect(raw.entry?.tessera?.data).not.toHaveProperty('cookie');
        expect(raw.secondsLeft).toBeGreaterThan(KEPT_S - 5);
        expect(raw.secondsLeft).toBeLessThanOrEqual(KEPT_S + 1);
        const record = await new LegacyStore(backend.store).get(key);
        expect(record?.data).toEqual({ passport: { user }, cart: ['apple', 'pear'] });

        // The tessera cookie carries on. The old one opens the moved session only within the
        // rotation grace of the move (a request in flight); after it, it signs no one in, and is cleared.
        const next = await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200);
        expect(next.body).toEqual({ user, cart: ['apple', 'pear'], id: key });
        const inFlight = await request(app).get('/me').set('Cookie', cookie).expect(200);
        expect(inFlight.body).toEqual({ user, cart: ['apple', 'pear'], id: key });
        moved.push({ cookie, sid, key });
      }
      clock.advance(ROTATION_GRACE_MS + MAX_CLOCK_SKEW_MS + 1000);
      for (const { cookie, sid, key } of moved) {
        const replay = await request(app).get('/me').set('Cookie', cookie).expect(200);
        expect(replay.body).toMatchObject({ user: null, cart: null });
        expect((replay.body as Me).id).not.toBe(key);
        expect(isClearing(sessionCookie(replay))).toBe(true);
        expect(await backend.hasLegacy(sid)).toBe(false);
      }
    });

    it('keeps changes made on the migrating request', async () => {
      const user = uniqueUser('carol');
      const old = await signInOnExpressSession(legacyApp(backend.store, before), user);
      const app = tesseraApp(backend.store, after);
      const first = await request(app).post('/add').set('Cookie', old.cookie).expect(200);
      const key = remember(String((first.body as Me).id));
      expect(first.body).toMatchObject({ user, cart: ['apple', 'pear', 'plum'] });
      expect(await backend.hasLegacy(old.sid)).toBe(false);
      expect((await backend.readRaw(key)).entry?.tessera?.data).toEqual({ passport: { user }, cart: ['apple', 'pear', 'plum'] });
      await request(app).get('/me').set('Cookie', cookieOf(first)).expect(200, { user, cart: ['apple', 'pear', 'plum'], id: key });
    });
  });
}

const [redis, postgres] = await Promise.all([reachRedis(), reachPostgres()]);

if (!redis.ok) {
  serverUnavailable('migration from express-session + connect-redis 9', redis.reason);
} else {
  const client = redis.client;
  // connect-redis with its defaults (prefix `sess:`), as the app ran it. Session ids and tokens
  // are random, so other users of the server are never touched; what the tests wrote is removed.
  const store = new RedisStore({ client });
  afterAll(async () => {
    if (seenIds.size > 0) await client.del([...seenIds].map((id) => `sess:${id}`));
    await client.close();
  });
  migrationSuite({
    name: 'connect-redis 9',
    store,
    hasLegacy: async (sid) => (await client.exists(`sess:${sid}`)) === 1,
    async readRaw(key) {
      const name = `sess:${key}`;
      const [text, ttl] = await Promise.all([client.get(name), client.ttl(name)]);
      return { entry: text === null ? null : JSON.parse(text), secondsLeft: ttl >= 0 ? ttl : null };
    },
  });
}

if (!postgres.ok) {
  serverUnavailable('migration from express-session + connect-pg-simple 10', postgres.reason);
} else {
  const pool = postgres.client;
  // The table connect-pg-simple's table.sql defines, under a name unique to this run.
  const table = `tessera_test_migration_${randomBytes(6).toString('hex')}`;
  beforeAll(() => createSessionTable(pool, table));
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    await pool.end();
  });
  const PGStore = connectPgSimple(expressSession);
  const store = new PGStore({ pool, tableName: table, pruneSessionInterval: false });
  migrationSuite({
    name: 'connect-pg-simple 10',
    store,
    hasLegacy: async (sid) => ((await pool.query(`SELECT 1 FROM "${table}" WHERE sid = $1`, [sid])).rowCount ?? 0) > 0,
    async readRaw(key) {
      const { rows } = await pool.query<{ sess: { tessera?: SessionRecord }; seconds_left: string }>(
        `SELECT sess, extract(epoch FROM expire - localtimestamp(0)) AS seconds_left FROM "${table}" WHERE sid = $1`,
        [key],
      );
      const row = rows[0];
      return { entry: row?.sess ?? null, secondsLeft: row === undefined ? null : Number(row.seconds_left) };
    },
  });
}
