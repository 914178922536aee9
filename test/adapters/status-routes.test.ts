/**
 * The status and keep-alive routes of tessera/browser on the Web, Hono, Koa and Fastify adapters, over
 * real HTTP on a frozen clock: polling the status never keeps a session alive; keep-alive does.
 * (Express's are tested in test/core/status.test.ts and test/demo/.)
 */
import http, { type Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import tesseraFastify from '../../src/adapters/fastify/index.js';
import { honoSessions, type SessionVariables } from '../../src/adapters/hono/index.js';
import { koaSessions } from '../../src/adapters/koa/index.js';
import { createWebSessions } from '../../src/adapters/web/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { MINUTE, frozenClock, type TestClock } from '../helpers/clock.js';
import { Jar, listenOn, send } from './conformance/client.js';

const SECRET = 'status-routes-secret-0123456789-abcdefghijkl';
const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const app of running.splice(0)) await app.close();
});

type Start = (clock: TestClock) => Promise<string>;
const options = (clock: TestClock) => ({
  secret: SECRET,
  store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }),
  now: clock.now,
  idleTimeout: 10 * MINUTE,
  cookie: { name: 'sid', secure: false },
});

const web: Start = async (clock) => {
  const sessions = createWebSessions(options(clock));
  const signIn = sessions.withSession(async (_request, session) => {
    await session.signIn('ann');
    return Response.json({ ok: true });
  });
  const fetch = (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === '/signin') return signIn(request);
    if (path === '/session/keep-alive') return sessions.keepAlive(request);
    return sessions.status(request);
  };
  const app = await listenOn(createAdaptorServer({ fetch }) as Server);
  running.push(app);
  return app.url;
};

const hono: Start = async (clock) => {
  const sessions = honoSessions(options(clock));
  const app = new Hono<{ Variables: SessionVariables }>();
  app.use(sessions.middleware);
  app.post('/signin', async (c) => {
    await c.get('session').signIn('ann');
    return c.json({ ok: true });
  });
  app.get('/session/status', sessions.status());
  app.post('/session/keep-alive', sessions.keepAlive());
  const server = await listenOn(createAdaptorServer({ fetch: app.fetch }) as Server);
  running.push(server);
  return server.url;
};

const koa: Start = async (clock) => {
  const sessions = koaSessions(options(clock));
  const app = new Koa();
  app.use(sessions.middleware);
  const status = sessions.status();
  const keepAlive = sessions.keepAlive();
  app.use(async (ctx, next) => {
    if (ctx.path === '/signin') {
      await ctx.tessera.signIn('ann');
      ctx.body = { ok: true };
    } else if (ctx.path === '/session/keep-alive') await keepAlive(ctx, next);
    else await status(ctx, next);
  });
  const server = await listenOn(http.createServer(app.callback()));
  running.push(server);
  return server.url;
};

const fastify: Start = async (clock) => {
  const app = Fastify();
  await app.register(tesseraFastify, { ...options(clock), cookieName: 'sid', cookie: { secure: false }, saveUninitialized: false } as never);
  app.post('/signin', async (request) => {
    await request.tessera.signIn('ann');
    return { ok: true };
  });
  app.get('/session/status', app.tessera.status());
  app.post('/session/keep-alive', app.tessera.keepAlive());
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  running.push({ close: () => app.close() });
  return url;
};

describe.each([
  ['tessera/fastify', fastify],
  ['tessera/web', web],
  ['tessera/hono', hono],
  ['tessera/koa', koa],
])('status routes on %s', (_name, start) => {
  async function signedIn(): Promise<{ url: string; clock: TestClock; jar: Jar }> {
    const clock = frozenClock();
    const url = await start(clock);
    const jar = new Jar();
    jar.take(await send(url, 'POST', '/signin', { 'sec-fetch-site': 'same-origin' }));
    expect(jar.value).toBeDefined();
    return { url, clock, jar };
  }

  it('answers JSON with no-store and no token, and polling it does not keep the session alive', async () => {
    const { url, clock, jar } = await signedIn();
    const first = await send(url, 'GET', '/session/status', jar.headers);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.json).toMatchObject({ signedIn: true, now: clock.now() });
    expect(first.body).not.toContain(jar.value!);
    for (const minutes of [4, 4]) {
      clock.advance(minutes * MINUTE);
      expect((await send(url, 'GET', '/session/status', jar.headers)).json).toMatchObject({ signedIn: true });
    }
    clock.advance(3 * MINUTE); // 11 min after the sign-in, with only status polls in between
    expect((await send(url, 'GET', '/session/status', jar.headers)).json).toMatchObject({ signedIn: false });
  });

  it('keeps the session alive through keep-alive requests', async () => {
    const { url, clock, jar } = await signedIn();
    for (const minutes of [4, 4, 3]) {
      clock.advance(minutes * MINUTE);
      const reply = jar.take(await send(url, 'POST', '/session/keep-alive', { ...jar.headers, 'sec-fetch-site': 'same-origin' }));
      expect(reply.json).toMatchObject({ signedIn: true });
    }
    expect((await send(url, 'GET', '/session/status', jar.headers)).json).toMatchObject({ signedIn: true });
  });
});
