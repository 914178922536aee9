import mysql from 'mysql2/promise';
import pgDriver from 'pg';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { MysqlStore } from '../../src/store/mysql.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { frozenClock } from '../helpers/clock.js';
import { cookieHeader, theSetCookie } from '../helpers/cookies.js';
import { SECRET } from '../helpers/express-app.js';
import { probeMysql, probePostgres, uniqueTableName } from '../helpers/sql-servers.js';

/** An app with user routes (list, revoke one, others, all) and admin routes (any user, everyone). */
function app(open: (now: () => number) => Store) {
  const clock = frozenClock();
  const store = open(clock.now);
  const events: SessionEvent[] = [];
  const sessions = session({ secret: SECRET, store, now: clock.now, cookie: { secure: false }, onEvent: (e) => void events.push(e) });
  const a = express();
  a.use(sessions);
  a.post('/signin/:user', async (req, res) => {
    await req.tessera.signIn(String(req.params['user']));
    res.json({ id: req.tessera.id });
  });
  a.get('/me', (req, res) => {
    res.json({ user: req.tessera.userId });
  });
  a.get('/sessions', async (req, res) => {
    res.json(await req.tessera.listSessions());
  });
  a.post('/sessions/:id/revoke', async (req, res) => {
    res.json({ revoked: await req.tessera.revokeSession(String(req.params['id'])) });
  });
  a.post('/sessions/revoke-others', async (req, res) => {
    res.json({ count: await req.tessera.signOutOthers() });
  });
  a.post('/sessions/revoke-all', async (req, res) => {
    res.json({ count: await req.tessera.signOutEverywhere() });
  });
  a.post('/admin/users/:user/revoke', async (req, res) => {
    res.json({ count: await sessions.engine.revokeUser(String(req.params['user'])) });
  });
  a.post('/admin/revoke-everyone', async (_req, res) => {
    res.json({ count: await sessions.engine.revokeAllSessions() });
  });
  a.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(isTesseraError(error) ? error.status : 500).send(isTesseraError(error) ? error.code : 'error');
  });
  return { app: a, events, clock };
}

async function signIn(a: express.Express, user: string, userAgent = 'test-agent') {
  const res = await request(a).post(`/signin/${user}`).set('User-Agent', userAgent).expect(200);
  return { cookie: cookieHeader(theSetCookie(res, 'connect.sid')), id: (res.body as { id: string }).id };
}

const userOf = async (a: express.Express, cookie: string) => ((await request(a).get('/me').set('Cookie', cookie)).body as { user: string | null }).user;

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

describe.each(stores)('per-user controls on %s', (_name, open) => {
  it('lists the user’s sessions with device data, marks the current one, and never shows another user’s', async () => {
    const { app: a } = app(open);
    const laptop = await signIn(a, 'alice', 'Firefox');
    await signIn(a, 'alice', 'Safari');
    await signIn(a, 'bob', 'Chrome');

    const list = (await request(a).get('/sessions').set('Cookie', laptop.cookie)).body as Array<{ id: string; current: boolean; userAgent: string }>;
    expect(list.map((s) => s.userAgent).sort()).toEqual(['Firefox', 'Safari']);
    expect(list.find((s) => s.current)?.id).toBe(laptop.id);
  });

  it('revokes one session by id, but not a session of another user', async () => {
    const { app: a } = app(open);
    const laptop = await signIn(a, 'alice');
    const phone = await signIn(a, 'alice');
    const bob = await signIn(a, 'bob');

    expect((await request(a).post(`/sessions/${bob.id}/revoke`).set('Cookie', laptop.cookie)).body).toEqual({ revoked: false });
    expect(await userOf(a, bob.cookie)).toBe('bob');
    expect((await request(a).post(`/sessions/${phone.id}/revoke`).set('Cookie', laptop.cookie)).body).toEqual({ revoked: true });
    expect(await userOf(a, phone.cookie)).toBeNull();
    expect(await userOf(a, laptop.cookie)).toBe('alice');
  });

  it('revokes all other sessions, or all of them', async () => {
    const { app: a } = app(open);
    const laptop = await signIn(a, 'alice');
    const phone = await signIn(a, 'alice');
    const tablet = await signIn(a, 'alice');

    expect((await request(a).post('/sessions/revoke-others').set('Cookie', laptop.cookie)).body).toEqual({ count: 2 });
    expect([await userOf(a, laptop.cookie), await userOf(a, phone.cookie), await userOf(a, tablet.cookie)]).toEqual(['alice', null, null]);

    const again = await signIn(a, 'alice');
    expect((await request(a).post('/sessions/revoke-all').set('Cookie', again.cookie)).body).toEqual({ count: 2 });
    expect([await userOf(a, laptop.cookie), await userOf(a, again.cookie)]).toEqual([null, null]);
  });

  it('lets an administrator end every session of any user, and every session of everyone', async () => {
    const { app: a, events } = app(open);
    const alice = [await signIn(a, 'alice'), await signIn(a, 'alice')];
    const bob = await signIn(a, 'bob');

    expect((await request(a).post('/admin/users/alice/revoke')).body).toEqual({ count: 2 });
    expect(await Promise.all(alice.map((s) => userOf(a, s.cookie)))).toEqual([null, null]);
    expect(await userOf(a, bob.cookie)).toBe('bob');

    await signIn(a, 'carol');
    expect((await request(a).post('/admin/revoke-everyone')).body).toEqual({ count: 2 });
    expect(await userOf(a, bob.cookie)).toBeNull();
    expect(events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'admin', count: 2, userId: null }));
  });
});

describe('deleteAll on the server SQL stores', () => {
  const record = (userId: string) => ({
    version: 1, createdAt: Date.now(), authenticatedAt: null, lastSeenAt: Date.now(), expiresAt: Date.now() + 60_000,
    userId, data: {}, meta: {},
  });

  it('deletes every live session on PostgreSQL and MySQL/MariaDB', async () => {
    const [pg, my] = await Promise.all([probePostgres(), probeMysql()]);
    const table = uniqueTableName('tessera_all');
    const opened: Store[] = [];
    if (pg.skip === undefined) opened.push(new PostgresStore({ connectionString: pg.url, tableName: table, purgeIntervalMs: 0 }));
    if (my.skip === undefined) opened.push(new MysqlStore({ uri: my.url, tableName: table, purgeIntervalMs: 0 }));
    try {
      expect(opened.length, `${pg.skip ?? ''} ${my.skip ?? ''}`).toBeGreaterThan(0);
      for (const store of opened) {
        await store.set('a', record('alice'));
        await store.set('b', record('bob'));
        expect(await store.deleteAll!()).toBe(2);
        expect(await store.get('a')).toBeNull();
        expect(await store.listByUser('bob')).toEqual([]);
      }
    } finally {
      for (const store of opened) await store.close();
      if (pg.skip === undefined) {
        const client = new pgDriver.Client({ connectionString: pg.url });
        await client.connect();
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        await client.end();
      }
      if (my.skip === undefined) {
        const connection = await mysql.createConnection({ uri: my.url });
        await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
        await connection.end();
      }
    }
  });
});
