/**
 * The header transport through tessera/web over real HTTP (served by @hono/node-server's Node
 * adapter, as the conformance suite serves it), through tessera/hono, which builds on it, and
 * through tessera/koa and tessera/fastify:
 * the token in `Authorization: Bearer`, new tokens in `Tessera-Session`, the CSRF guard letting
 * a header request through, and a duplicated header giving no session and no error.
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
import { frozenClock } from '../helpers/clock.js';
import { listenOn, send } from './conformance/client.js';

const SECRET = 'web-header-transport-secret-0123456789abcdefg';
const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const app of running.splice(0)) await app.close();
});

async function webApp(transport: 'header' | 'both' = 'header'): Promise<string> {
  const clock = frozenClock();
  const sessions = createWebSessions({ secret: SECRET, store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now, transport, cookie: { secure: false } });
  const whoami = sessions.withSession(async (_request, session) => Response.json({ user: session.userId, transport: session.transport }));
  const signIn = sessions.withSession(async (request, session) => {
    await session.signIn(new URL(request.url).searchParams.get('user') ?? 'ann');
    return Response.json({ ok: true });
  });
  const signOut = sessions.withSession(async (_request, session) => {
    await session.signOut();
    return Response.json({ ok: true });
  });
  const guarded = async (request: Request): Promise<Response> => {
    const ws = await sessions.load(request);
    const refused = await sessions.csrf(request, ws);
    if (refused !== undefined) return Response.json({ error: (refused as { code?: string }).code }, { status: 403 });
    return ws.commit(Response.json({ accepted: true, user: ws.session.userId }));
  };
  const routes: Record<string, (request: Request) => Promise<Response>> = { 'GET /whoami': whoami, 'POST /signin': signIn, 'POST /signout': signOut, 'POST /form': guarded };
  const fetch = (request: Request): Promise<Response> | Response =>
    routes[`${request.method} ${new URL(request.url).pathname}`]?.(request) ?? new Response('not found', { status: 404 });
  const app = await listenOn(createAdaptorServer({ fetch }) as Server);
  running.push(app);
  return app.url;
}

async function honoApp(): Promise<string> {
  const sessions = honoSessions({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), transport: 'header', cookie: { secure: false } });
  const app = new Hono<{ Variables: SessionVariables }>();
  app.use(sessions.middleware);
  app.get('/whoami', (c) => c.json({ user: c.get('session').userId, transport: c.get('session').transport }));
  app.post('/signin', async (c) => {
    await c.get('session').signIn(c.req.query('user') ?? 'ann');
    return c.json({ ok: true });
  });
  const server = await listenOn(createAdaptorServer({ fetch: app.fetch }) as Server);
  running.push(server);
  return server.url;
}

async function koaApp(transport: 'header' | 'both' = 'header'): Promise<string> {
  const sessions = koaSessions({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), transport, cookie: { secure: false } });
  const app = new Koa();
  app.use(sessions.middleware);
  const guard = sessions.csrf();
  app.use(async (ctx, next) => {
    if (ctx.path === '/form') {
      try {
        await guard(ctx, async () => undefined);
      } catch (error) {
        ctx.status = 403;
        ctx.body = { error: (error as { code?: string }).code };
        return;
      }
      ctx.body = { accepted: true, user: ctx.tessera.userId };
      return;
    }
    await next();
  });
  app.use(async (ctx) => {
    if (ctx.path === '/whoami') ctx.body = { user: ctx.tessera.userId, transport: ctx.tessera.transport };
    else if (ctx.path === '/signin') {
      await ctx.tessera.signIn(String(ctx.query['user'] ?? 'ann'));
      ctx.body = { ok: true };
    } else if (ctx.path === '/signout') {
      await ctx.tessera.signOut();
      ctx.body = { ok: true };
    } else ctx.status = 404;
  });
  const server = await listenOn(http.createServer(app.callback()));
  running.push(server);
  return server.url;
}

async function fastifyApp(transport: 'header' | 'both' = 'header', cookiePath = '/'): Promise<string> {
  const app = Fastify();
  await app.register(tesseraFastify, { secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), transport, saveUninitialized: false, cookie: { secure: false, path: cookiePath } } as never);
  app.get('/whoami', async (request) => ({ user: request.tessera.userId, transport: request.tessera.transport }));
  app.post('/signin', async (request) => {
    await request.tessera.signIn(String((request.query as Record<string, unknown>)['user'] ?? 'ann'));
    return { ok: true };
  });
  app.post('/signout', async (request) => {
    await request.tessera.signOut();
    return { ok: true };
  });
  app.post('/form', { preHandler: app.tessera.csrf() }, async (request) => ({ accepted: true, user: request.tessera.userId }));
  app.setErrorHandler((error, _request, reply) => reply.status((error as { status?: number }).status ?? 500).send({ error: (error as { code?: string }).code }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  running.push({ close: () => app.close() });
  return url;
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe.each([
  ['tessera/web', webApp],
  ['tessera/hono', honoApp],
  ['tessera/koa', koaApp],
  ['tessera/fastify', fastifyApp],
])('header transport through %s', (_name, start) => {
  it('hands the token out in Tessera-Session, sets no cookie, and reads it back from Authorization: Bearer', async () => {
    const url = await start();
    const signIn = await send(url, 'POST', '/signin?user=ann');
    const token = signIn.headers['tessera-session'];
    expect(typeof token).toBe('string');
    expect(token).not.toBe('');
    expect(signIn.headers['set-cookie']).toBeUndefined();
    const read = await send(url, 'GET', '/whoami', bearer(String(token)));
    expect(read.json).toEqual({ user: 'ann', transport: 'header' });
    expect((await send(url, 'GET', '/whoami')).json).toMatchObject({ user: null });
  });

  it('gives no session, and no error, for a duplicated or malformed Authorization header', async () => {
    const url = await start();
    const token = String((await send(url, 'POST', '/signin?user=ann')).headers['tessera-session']);
    for (const header of [`Bearer ${token}, Bearer ${token}`, 'Bearer', `Bearer ${token.slice(0, -2)}`]) {
      const read = await send(url, 'GET', '/whoami', { authorization: header });
      expect(read.status, header).toBe(200);
      expect(read.json, header).toMatchObject({ user: null });
    }
  });
});

describe.each([
  ['tessera/web', webApp],
  ['tessera/koa', koaApp],
  ['tessera/fastify', fastifyApp],
])('header transport through %s', (_name, start) => {
  it("with transport 'both', lets a cross-site POST carrying the token header through the CSRF guard, and refuses it without", async () => {
    const url = await start('both');
    // A header client's first request: the token header decides 'both', so sign in with one that opens nothing yet.
    const token = String((await send(url, 'POST', '/signin?user=ann', bearer('x.y'))).headers['tessera-session']);
    expect(token).toMatch(/\./);
    const crossSite = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
    expect((await send(url, 'POST', '/form', { ...crossSite, ...bearer(token) })).json).toEqual({ accepted: true, user: 'ann' });
    expect((await send(url, 'POST', '/form', crossSite)).status).toBe(403);
  });

  it('answers a sign-out with an empty Tessera-Session, after which the old token opens nothing', async () => {
    const url = await start();
    const token = String((await send(url, 'POST', '/signin?user=ann')).headers['tessera-session']);
    const out = await send(url, 'POST', '/signout', bearer(token));
    expect(out.headers['tessera-session']).toBe('');
    expect((await send(url, 'GET', '/whoami', bearer(token))).json).toMatchObject({ user: null });
  });
});

describe('header transport through tessera/fastify and the cookie Path', () => {
  it("reads a header client's token outside the cookie's Path, which only limits where browsers send the cookie", async () => {
    const url = await fastifyApp('header', '/app');
    const token = String((await send(url, 'POST', '/signin?user=ann')).headers['tessera-session']);
    expect(token).toMatch(/\./);
    expect((await send(url, 'GET', '/whoami', bearer(token))).json).toEqual({ user: 'ann', transport: 'header' });
  });

  it("with transport 'both', still ignores a cookie outside its Path", async () => {
    const url = await fastifyApp('both', '/app');
    const signIn = await send(url, 'POST', '/signin?user=ann');
    // Outside /app the session is inert: no cookie is set for it and none would be read.
    expect(signIn.headers['set-cookie']).toBeUndefined();
    expect((await send(url, 'GET', '/whoami')).json).toMatchObject({ user: null });
  });
});
