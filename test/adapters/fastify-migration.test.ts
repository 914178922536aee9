/**
 * `tessera/fastify` as a drop-in for @fastify/session, over real HTTP: users signed in under
 * @fastify/session stay signed in after the switch (their cookie is read, their session moves
 * to a tessera session), and the behaviours the plugin keeps or changes on purpose.
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import tesseraSession from '../../src/adapters/fastify/index.js';
import { parseSetCookie } from '../helpers/cookies.js';
import { send } from './conformance/client.js';

const SECRET = 'a-fastify-session-secret-of-32-chars-or-more';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** A store with @fastify/session's callback API, shared by both plugins (as a Redis store would be). */
function sharedStore(): { map: Map<string, unknown>; set(id: string, s: unknown, cb: () => void): void; get(id: string, cb: (e: null, s?: unknown) => void): void; destroy(id: string, cb: () => void): void } {
  const map = new Map<string, unknown>();
  return {
    map,
    set: (id, s, cb) => void (map.set(id, JSON.parse(JSON.stringify(s))), cb()),
    get: (id, cb) => cb(null, map.get(id)),
    destroy: (id, cb) => void (map.delete(id), cb()),
  };
}

async function start(register: (app: FastifyInstance) => Promise<void>): Promise<string> {
  const app = Fastify();
  apps.push(app);
  await register(app);
  app.get('/whoami', async (request) => ({ user: request.session.get('user') ?? null, id: request.session.sessionId }));
  app.post('/login', async (request) => {
    request.session.set('user', 'ada');
    return { ok: true };
  });
  return app.listen({ port: 0, host: '127.0.0.1' });
}

const cookieOf = (res: { headers: Record<string, unknown> }): string | undefined => {
  const lines = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const found = lines.map(parseSetCookie).find((c) => c.name === 'sessionId');
  return found === undefined ? undefined : `sessionId=${found.value}`;
};

describe('tessera/fastify replacing @fastify/session', () => {
  it('keeps a user signed in under @fastify/session signed in, and moves the session to a tessera one', async () => {
    const store = sharedStore();
    const before = await start(async (app) => {
      await app.register(fastifyCookie);
      await app.register(fastifySession, { secret: SECRET, store: store as never, cookie: { secure: false } });
    });
    const legacy = cookieOf(await send(before, 'POST', '/login'));
    expect(legacy).toMatch(/^sessionId=[\w-]{32}\.[^;]+$/);
    const after = await start(async (app) => {
      await app.register(tesseraSession, { secret: SECRET, store: store as never, cookie: { secure: false } });
    });
    const moved = await send(after, 'GET', '/whoami', { cookie: legacy! });
    expect(moved.status).toBe(200);
    expect(JSON.parse(moved.body)).toMatchObject({ user: 'ada' });
    const upgraded = cookieOf(moved);
    expect(upgraded).toBeDefined();
    expect(upgraded).not.toBe(legacy);
    // The new cookie keeps @fastify/session's shape: `<32 characters>.<more>`.
    expect(upgraded).toMatch(/^sessionId=[\w-]{32}\.[^;]+$/);
    expect(JSON.parse((await send(after, 'GET', '/whoami', { cookie: upgraded! })).body)).toMatchObject({ user: 'ada' });
  });

  it('refuses a cookie @fastify/session signed with another secret: a new, empty session and no 5xx', async () => {
    const store = sharedStore();
    const before = await start(async (app) => {
      await app.register(fastifyCookie);
      await app.register(fastifySession, { secret: 'another-secret-of-at-least-32-characters!!', store: store as never, cookie: { secure: false } });
    });
    const legacy = cookieOf(await send(before, 'POST', '/login'));
    const after = await start(async (app) => {
      await app.register(tesseraSession, { secret: SECRET, store: store as never, cookie: { secure: false } });
    });
    const res = await send(after, 'GET', '/whoami', { cookie: legacy! });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ user: null });
  });

  it('writes a persistent cookie with Expires only, as @fastify/session does, and always HttpOnly and SameSite', async () => {
    const url = await start(async (app) => {
      await app.register(tesseraSession, { secret: SECRET, cookie: { secure: false, maxAge: 60_000, httpOnly: false } });
    });
    const res = await send(url, 'POST', '/login');
    const line = (res.headers['set-cookie'] as string[])[0]!;
    expect(line).toMatch(/; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    expect(line).not.toMatch(/Max-Age/);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('stores a visitor session the app used even when empty (saveUninitialized, the default), but not an untouched one', async () => {
    const store = sharedStore();
    const url = await start(async (app) => {
      await app.register(tesseraSession, { secret: SECRET, store: store as never, cookie: { secure: false } });
      app.get('/plain', async () => ({ plain: true }));
    });
    const plain = await send(url, 'GET', '/plain');
    expect(plain.headers['set-cookie']).toBeUndefined();
    expect(store.map.size).toBe(0);
    const visitor = await send(url, 'GET', '/whoami');
    expect(cookieOf(visitor)).toBeDefined();
    expect(store.map.size).toBe(1);
  });
});
