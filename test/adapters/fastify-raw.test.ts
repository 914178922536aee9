/**
 * `tessera/fastify` when the app writes the reply itself (`reply.hijack()` then `reply.raw`),
 * over real HTTP: Fastify's `onSend` never runs, and the session is still committed before
 * the response ends, its cookie on the response.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import session from '../../src/adapters/fastify/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { frozenClock } from '../helpers/clock.js';
import { parseSetCookie } from '../helpers/cookies.js';
import { send } from './conformance/client.js';

const SECRET = 'fastify-raw-secret-0123456789-abcdefghijklm';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

describe('tessera/fastify with a hijacked reply', () => {
  it('commits the session and sets its cookie before reply.raw ends', async () => {
    const clock = frozenClock();
    const app = Fastify();
    apps.push(app);
    await app.register(session, { secret: SECRET, store: new MemoryStore({ now: clock.now }), now: clock.now, cookieName: 'sid', cookie: { secure: false }, saveUninitialized: false });
    app.post('/raw', async (request, reply) => {
      await request.tessera.signIn('ada');
      reply.hijack();
      reply.raw.setHeader('content-type', 'text/plain');
      reply.raw.end('written by hand');
    });
    app.post('/raw-late', async (request, reply) => {
      reply.hijack();
      await request.tessera.signIn('grace');
      reply.raw.end('late');
    });
    app.get('/whoami', async (request) => ({ user: request.tessera.userId }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await send(url, 'POST', '/raw');
    expect(res.body).toBe('written by hand');
    const cookie = ((res.headers['set-cookie'] as string[] | undefined) ?? []).map(parseSetCookie).find((c) => c.name === 'sid');
    expect(cookie).toBeDefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse((await send(url, 'GET', '/whoami', { cookie: `sid=${cookie!.value}` })).body)).toEqual({ user: 'ada' });
    // The session first used after hijack() is committed the same way.
    const late = await send(url, 'POST', '/raw-late');
    const lateCookie = ((late.headers['set-cookie'] as string[] | undefined) ?? []).map(parseSetCookie).find((c) => c.name === 'sid');
    expect(JSON.parse((await send(url, 'GET', '/whoami', { cookie: `sid=${lateCookie!.value}` })).body)).toEqual({ user: 'grace' });
  });
});
