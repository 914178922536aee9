/**
 * `tessera/koa` beyond the conformance suite, over real HTTP: `ctx.session` in koa-session's
 * shape, and a response the app writes itself.
 */
import http from 'node:http';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { koaSessions } from '../../src/adapters/koa/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { isClearing, parseSetCookie } from '../helpers/cookies.js';
import { frozenClock } from '../helpers/clock.js';
import { listenOn, send, type Reply } from './conformance/client.js';

const SECRET = 'koa-test-secret-0123456789-abcdefghijklmnop';
const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

async function start(handler: Koa.Middleware): Promise<string> {
  const app = new Koa();
  const clock = frozenClock();
  const sessions = koaSessions({ secret: SECRET, store: new MemoryStore({ now: clock.now }), now: clock.now, cookie: { name: 'sid', secure: false } });
  app.use(sessions.middleware);
  app.use(handler);
  const server = await listenOn(http.createServer(app.callback()));
  opened.push(server.close);
  return server.url;
}

const cookieOf = (res: Reply): string | undefined => {
  const set = ((res.headers['set-cookie'] as string[] | undefined) ?? []).map(parseSetCookie).find((c) => c.name === 'sid');
  return set === undefined || isClearing(set) ? undefined : `sid=${set.value}`;
};

describe('tessera/koa', () => {
  it('keeps data set as properties of ctx.session, with isNew, length and populated as koa-session has them', async () => {
    const url = await start(async (ctx) => {
      const session = ctx.session!;
      const before = { isNew: session.isNew, length: session.length, populated: session.populated };
      if (ctx.path === '/set') session['views'] = Number(session['views'] ?? 0) + 1;
      ctx.body = { before, views: session['views'] ?? null, keys: Object.keys(session), json: session.toJSON() };
    });
    const first = await send(url, 'POST', '/set');
    expect(JSON.parse(first.body)).toEqual({ before: { isNew: true, length: 0, populated: false }, views: 1, keys: ['views'], json: { views: 1 } });
    const cookie = cookieOf(first)!;
    const second = await send(url, 'GET', '/read', { cookie });
    expect(JSON.parse(second.body)).toMatchObject({ before: { isNew: false, length: 1, populated: true }, views: 1 });
  });

  it('ends the session when ctx.session is set to null, and clears the cookie', async () => {
    const url = await start(async (ctx) => {
      if (ctx.path === '/login') await ctx.tessera.signIn('ada');
      if (ctx.path === '/logout') ctx.session = null;
      ctx.body = { user: ctx.tessera.userId, session: ctx.session === null ? null : 'object' };
    });
    const cookie = cookieOf(await send(url, 'POST', '/login'))!;
    const out = await send(url, 'POST', '/logout', { cookie });
    expect(JSON.parse(out.body)).toEqual({ user: 'ada', session: null });
    expect(((out.headers['set-cookie'] as string[]) ?? []).map(parseSetCookie).map(isClearing)).toEqual([true]);
    expect(JSON.parse((await send(url, 'GET', '/', { cookie })).body)).toMatchObject({ user: null });
  });

  it('makes a persistent cookie when maxAge is set, and a browser-session cookie by default', async () => {
    const url = await start(async (ctx) => {
      ctx.session!['a'] = 1;
      if (ctx.path === '/remember') ctx.session!.maxAge = 86_400_000;
      ctx.body = { maxAge: ctx.session!.maxAge };
    });
    const plain = await send(url, 'POST', '/');
    expect(JSON.parse(plain.body)).toEqual({ maxAge: 'session' });
    expect(parseSetCookie((plain.headers['set-cookie'] as string[])[0]!).attributes.has('max-age')).toBe(false);
    const remembered = await send(url, 'POST', '/remember');
    expect(JSON.parse(remembered.body)).toEqual({ maxAge: 86_400_000 });
    expect(parseSetCookie((remembered.headers['set-cookie'] as string[])[0]!).attributes.get('max-age')).toBe('86400');
  });

  it('replaces the data when an object is assigned to ctx.session', async () => {
    const url = await start(async (ctx) => {
      if (ctx.path === '/first') ctx.session!['old'] = true;
      else ctx.session = { fresh: 1 } as unknown as typeof ctx.session;
      ctx.body = ctx.session!.toJSON();
    });
    const cookie = cookieOf(await send(url, 'POST', '/first'))!;
    expect(JSON.parse((await send(url, 'POST', '/replace', { cookie })).body)).toEqual({ fresh: 1 });
  });

  it('commits early with manuallyCommit() and before a response the app writes itself ends', async () => {
    const url = await start(async (ctx) => {
      ctx.session!['n'] = 1;
      if (ctx.path === '/manual') {
        await ctx.session!.manuallyCommit();
        ctx.body = 'ok';
        return;
      }
      ctx.respond = false;
      ctx.res.setHeader('Content-Type', 'text/plain');
      ctx.res.end('raw');
    });
    const manual = await send(url, 'POST', '/manual');
    expect(cookieOf(manual)).toBeDefined();
    const raw = await send(url, 'POST', '/raw');
    expect(raw.body).toBe('raw');
    const cookie = cookieOf(raw);
    expect(cookie).toBeDefined();
    expect(raw.headers['cache-control']).toBe('no-store');
  });
});
