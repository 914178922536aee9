/**
 * Parallel requests carrying one old express-session cookie end in one tessera session, never
 * two: the session an old id moves to has an identity derived from that id, so every request
 * (in this process or another app instance) creates the same key; the first create wins and
 * the others join it with their own changes. Through real HTTP, on express-session's
 * MemoryStore and on connect-redis (the store itself, and as `migrateFrom` of a native
 * RedisStore), with one app instance and with two sharing the store.
 */
import { randomBytes } from 'node:crypto';
import { RedisStore as ConnectRedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import expressSession from 'express-session';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExpressSessionOptions } from '../../src/adapters/express/index.js';
import { RedisStore } from '../../src/store/redis.js';
import { barrier } from '../helpers/express-app.js';
import { reachRedis } from '../helpers/servers.js';
import { SECRET, TESSERA_VALUE, cookieOf, createApp, sess, sessionCookie, sessionId } from './express-helpers.js';

const OLD_SECRET = 'keyboard cat';
const PARALLEL = 4;

type Data = Record<string, unknown>;

/** express-session, as the app ran before the switch. */
function legacyApp(store: expressSession.Store): Express {
  const app = express();
  app.use(expressSession({ secret: OLD_SECRET, store, resave: false, saveUninitialized: false }));
  app.post('/login', (req, res) => {
    (req.session as unknown as Data)['user'] = 'alice';
    res.send('ok');
  });
  return app;
}

/**
 * tessera/express: `/tag/:name` waits until `parties` requests have loaded their session, then
 * sets the key `name`, so the requests race through the migration together.
 */
function tesseraApp(options: Partial<ExpressSessionOptions>, parties: () => Promise<void>): Express {
  return createApp({ secret: [SECRET, OLD_SECRET], ...options }, async (req, res) => {
    const s = sess(req) as unknown as Data;
    if (req.path.startsWith('/tag/')) {
      await parties();
      s[req.path.slice('/tag/'.length)] = true;
    }
    res.json({ id: sessionId(req), user: s['user'] ?? null, keys: Object.keys(s).filter((k) => k !== 'cookie').sort() });
  }).app;
}

async function oldCookie(store: expressSession.Store): Promise<string> {
  return cookieOf(await request(legacyApp(store)).post('/login').expect(200, 'ok'));
}

interface Setup {
  name: string;
  /** The express-session store the old sessions are in. */
  legacy: () => expressSession.Store;
  /** Options of the tessera app(s): `store` and maybe `migrateFrom`. */
  options: (legacy: expressSession.Store) => Partial<ExpressSessionOptions>;
  /** Whether two app instances on the store also keep every change (needs an atomic create). */
  atomicCreate: boolean;
}

const redis = await reachRedis();
const prefix = `tessera-test:migration-race:${randomBytes(6).toString('hex')}:`;
afterAll(async () => {
  if (!redis.ok) return;
  for await (const keys of redis.client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    if (keys.length > 0) await redis.client.del(keys);
  }
  await redis.client.close();
});

const setups: Setup[] = [
  { name: "express-session's MemoryStore (as the store)", legacy: () => new expressSession.MemoryStore(), options: (legacy) => ({ store: legacy }), atomicCreate: false },
];
if (redis.ok) {
  const client = redis.client;
  setups.push(
    {
      name: 'connect-redis (as the store)',
      legacy: () => new ConnectRedisStore({ client, prefix: `${prefix}legacy:` }),
      options: (legacy) => ({ store: legacy }),
      atomicCreate: false,
    },
    {
      name: 'a native RedisStore with migrateFrom: connect-redis',
      legacy: () => new ConnectRedisStore({ client, prefix: `${prefix}from:` }),
      options: (legacy) => ({ store: new RedisStore({ client, prefix: `${prefix}native:` }), migrateFrom: legacy }),
      atomicCreate: true,
    },
  );
} else if (process.env['CI'] === 'true') {
  throw new Error(`the migration race on Redis cannot run: ${redis.reason}; CI=true requires it`);
}

describe.each(setups)('parallel requests with one old express-session cookie, on $name', (setup) => {
  it(`${PARALLEL} requests at once through one app end in one session with every request's change`, async () => {
    const legacy = setup.legacy();
    const cookie = await oldCookie(legacy);
    const app = tesseraApp(setup.options(legacy), barrier(PARALLEL));
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => request(app).get(`/tag/t${i}`).set('Cookie', cookie).expect(200)));

    const ids = new Set(replies.map((r) => (r.body as { id: string }).id));
    expect(ids.size).toBe(1);
    // Every reply hands out the same tessera cookie: whichever the browser keeps, it is the session.
    const values = new Set(replies.map((r) => sessionCookie(r)?.value));
    expect(values.size).toBe(1);
    expect([...values][0]).toMatch(TESSERA_VALUE);

    const after = await request(app).get('/me').set('Cookie', cookieOf(replies[0]!)).expect(200);
    expect(after.body).toEqual({ id: [...ids][0], user: 'alice', keys: ['t0', 't1', 't2', 't3', 'user'] });
  });

  it('a request that loads after another moved the session joins it (the old entry is gone by then)', async () => {
    const legacy = setup.legacy();
    const cookie = await oldCookie(legacy);
    const app = tesseraApp(setup.options(legacy), barrier(1));
    const first = await request(app).get('/tag/first').set('Cookie', cookie).expect(200);
    const late = await request(app).get('/tag/late').set('Cookie', cookie).expect(200);
    expect((late.body as { id: string }).id).toBe((first.body as { id: string }).id);
    expect(sessionCookie(late)?.value).toBe(sessionCookie(first)?.value);
    expect((late.body as { keys: string[] }).keys).toEqual(['first', 'late', 'user']);
  });

  it(`${PARALLEL} requests at once through two app instances sharing the store end in one session`, async () => {
    const legacy = setup.legacy();
    const cookie = await oldCookie(legacy);
    const parties = barrier(PARALLEL);
    const apps = [tesseraApp(setup.options(legacy), parties), tesseraApp(setup.options(legacy), parties)];
    const replies = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => request(apps[i % 2]!).get(`/tag/t${i}`).set('Cookie', cookie).expect(200)),
    );
    const ids = new Set(replies.map((r) => (r.body as { id: string }).id));
    expect(ids.size).toBe(1);
    expect(new Set(replies.map((r) => sessionCookie(r)?.value)).size).toBe(1);
    const after = await request(apps[0]!).get('/me').set('Cookie', cookieOf(replies[0]!)).expect(200);
    expect(after.body).toMatchObject({ id: [...ids][0], user: 'alice' });
    const keys = (after.body as { keys: string[] }).keys;
    if (setup.atomicCreate) {
      expect(keys).toEqual(['t0', 't1', 't2', 't3', 'user']);
    } else {
      // An express-session store has no conditional write: across instances a create may land
      // over another's (README, "What is atomic where"). Still one session, with the user.
      expect(keys).toContain('user');
    }
  });
});
