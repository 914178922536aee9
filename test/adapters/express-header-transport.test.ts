/**
 * The header transport over real HTTP: a session carried in `Authorization: Bearer` (or a
 * header the app names), its new and rotated tokens in `Tessera-Session`, the rule for a
 * request with both a cookie and a header, the CSRF guard letting header requests through, and
 * malformed headers giving no session and no 5xx. On the memory store and on Redis.
 */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import type { RequestSession } from '../../src/core/request-session.js';
import { frozenClock, MINUTE, type TestClock } from '../helpers/clock.js';
import { storeKinds, type OpenStore } from '../helpers/every-store.js';
import { listen, SECRET } from '../helpers/express-app.js';

const found = await storeKinds({ include: ['memory', 'redis'] });
for (const skipped of found.skipped) console.warn(`express header transport: ${skipped.name} skipped (${skipped.reason})`);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Harness {
  clock: TestClock;
  events: SessionEvent[];
  url: string;
  call(method: string, path: string, headers?: OutgoingHttpHeaders): Promise<Reply>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An app with `/whoami`, `/signin/:user`, `/signout`, `/rename` (CSRF-guarded) on the store given. */
async function harness(open: (now: () => number) => Promise<OpenStore>, options: Partial<ExpressSessionOptions> = {}): Promise<Harness> {
  const clock = frozenClock();
  const opened = await open(clock.now);
  const events: SessionEvent[] = [];
  const middleware = session({ secret: SECRET, name: 'sid', store: opened.store, now: clock.now, onEvent: (event) => events.push(event), ...options });
  const app = express();
  app.use(middleware);
  const rs = (req: Request): RequestSession => (req as Request & { tessera: RequestSession }).tessera;
  for (const prefix of ['', '/api']) {
    app.get(`${prefix}/whoami`, (req, res) => void res.json({ userId: rs(req).userId, transport: rs(req).transport }));
    app.post(`${prefix}/signin/:user`, async (req, res) => {
      await rs(req).signIn(String(req.params['user']));
      res.json({ ok: true });
    });
    app.post(`${prefix}/signout`, async (req, res) => {
      await rs(req).signOut();
      res.json({ ok: true });
    });
    app.post(`${prefix}/rename`, middleware.csrf(), (req, res) => void res.json({ renamed: rs(req).userId }));
  }
  app.use((error: { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status ?? 500).json({ code: error.code ?? 'ERROR' });
  });
  const server = await listen(app);
  cleanups.push(async () => {
    await server.close();
    await opened.close();
  });
  const call = (method: string, path: string, headers: OutgoingHttpHeaders = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      // node:http sends an array value as one header line per element: duplicates reach the server.
      const req = httpRequest(`${server.url}${path}`, { method, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  return { clock, events, url: server.url, call };
}

const bearer = (token: string): OutgoingHttpHeaders => ({ authorization: `Bearer ${token}` });
const userOf = (reply: Reply): unknown => (JSON.parse(reply.body) as { userId: unknown }).userId;
const tokenOf = (reply: Reply): string | undefined => reply.headers['tessera-session'] as string | undefined;

describe.each(found.kinds)('header transport on $name', (kind) => {
  it('carries a session in Authorization: Bearer and hands the rotated token back in Tessera-Session', async () => {
    const h = await harness(kind.open, { transport: 'header' });
    const signIn = await h.call('POST', '/signin/alice');
    expect(signIn.status).toBe(200);
    expect(signIn.headers['set-cookie']).toBeUndefined();
    expect(signIn.headers['cache-control']).toBe('no-store');
    const first = tokenOf(signIn)!;
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+\.[A-Za-z0-9+/]+$/);

    const read = await h.call('GET', '/whoami', bearer(first));
    expect(userOf(read)).toBe('alice');
    expect(JSON.parse(read.body)).toMatchObject({ transport: 'header' });
    expect(tokenOf(read)).toBeUndefined();

    h.clock.advance(16 * MINUTE); // past rotateEvery (15 min)
    const due = await h.call('GET', '/whoami', bearer(first));
    expect(userOf(due)).toBe('alice');
    const second = tokenOf(due)!;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    // A lost response costs nothing: the old token is answered with the same new one.
    expect(tokenOf(await h.call('GET', '/whoami', bearer(first)))).toBe(second);

    const acknowledged = await h.call('GET', '/whoami', bearer(second));
    expect(userOf(acknowledged)).toBe('alice');
    expect(tokenOf(acknowledged)).toBeUndefined();
    expect(h.events.filter((event) => event.type === 'rotated')).toHaveLength(1);

    h.clock.advance(3 * MINUTE); // past rotationGrace + maxClockSkew
    const replayed = await h.call('GET', '/whoami', bearer(first));
    expect(replayed.status).toBe(200);
    expect(userOf(replayed)).toBeNull();
    expect(tokenOf(replayed)).toBe('');
    expect(h.events.filter((event) => event.type === 'reuse_detected')).toHaveLength(1);
    expect(userOf(await h.call('GET', '/whoami', bearer(second)))).toBeNull();
  });

  it('answers a sign-out with an empty Tessera-Session, and the old token opens nothing', async () => {
    const h = await harness(kind.open, { transport: 'header' });
    const token = tokenOf(await h.call('POST', '/signin/bob'))!;
    const out = await h.call('POST', '/signout', bearer(token));
    expect(out.status).toBe(200);
    expect(tokenOf(out)).toBe('');
    expect(out.headers['set-cookie']).toBeUndefined();
    expect(userOf(await h.call('GET', '/whoami', bearer(token)))).toBeNull();
  });
});

describe('header transport rules', () => {
  const memory = found.kinds.find((kind) => kind.name === 'memory')!;

  it('ignores the header on a cookie-only app: the cookie value sent as Bearer opens nothing', async () => {
    const h = await harness(memory.open);
    const signIn = await h.call('POST', '/signin/alice');
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(userOf(await h.call('GET', '/whoami', { cookie }))).toBe('alice');
    const value = decodeURIComponent(cookie.slice('sid='.length)).slice('s:'.length);
    const viaHeader = await h.call('GET', '/whoami', bearer(value));
    expect(userOf(viaHeader)).toBeNull();
    expect(tokenOf(viaHeader)).toBeUndefined();
  });

  it("with transport 'both', a request with a cookie and a header gets the header's session", async () => {
    const h = await harness(memory.open, { transport: (req) => (req.url?.startsWith('/api/') ? 'header' : 'both') });
    const cookie = String((await h.call('POST', '/signin/cookie-user')).headers['set-cookie']).split(';')[0]!;
    const token = tokenOf(await h.call('POST', '/api/signin/header-user'))!;
    expect(userOf(await h.call('GET', '/whoami', { cookie }))).toBe('cookie-user');
    const both = await h.call('GET', '/whoami', { cookie, ...bearer(token) });
    expect(userOf(both)).toBe('header-user');
    expect(both.headers['set-cookie']).toBeUndefined();
    // Another scheme is not ours: the cookie decides.
    expect(userOf(await h.call('GET', '/whoami', { cookie, authorization: 'Basic YTpi' }))).toBe('cookie-user');
    // A header-only route ignores the cookie.
    expect(userOf(await h.call('GET', '/api/whoami', { cookie }))).toBeNull();
  });

  it('reads a header the app names instead of Authorization', async () => {
    const h = await harness(memory.open, { transport: 'header', tokenHeader: 'X-Session-Token', responseTokenHeader: 'X-New-Session' });
    const signIn = await h.call('POST', '/signin/carol');
    const token = signIn.headers['x-new-session'] as string;
    expect(token).toBeDefined();
    expect(userOf(await h.call('GET', '/whoami', { 'x-session-token': token }))).toBe('carol');
    expect(userOf(await h.call('GET', '/whoami', bearer(token)))).toBeNull();
  });

  it('hands a header client its token over plain HTTP, where a Secure cookie could not go', async () => {
    const h = await harness(memory.open, { transport: 'header', cookie: { secure: true } });
    const token = tokenOf(await h.call('POST', '/signin/gil'));
    expect(token).toBeDefined();
    expect(userOf(await h.call('GET', '/whoami', bearer(token!)))).toBe('gil');
  });

  it('never reads a token from the URL', async () => {
    const h = await harness(memory.open, { transport: 'header' });
    const token = tokenOf(await h.call('POST', '/signin/dave'))!;
    const query = encodeURIComponent(token);
    expect(userOf(await h.call('GET', `/whoami?access_token=${query}&authorization=Bearer%20${query}`))).toBeNull();
  });

  it('gives no session and no 5xx for malformed, duplicated and oversized headers', async () => {
    const h = await harness(memory.open, { transport: 'header' });
    const token = tokenOf(await h.call('POST', '/signin/erin'))!;
    const cases: Array<[Record<string, string | string[]>, string]> = [
      [{ authorization: [`Bearer ${token}`, `Bearer ${token}`] }, 'duplicate'],
      [{ authorization: `Bearer ${token}x`.padEnd(2000, 'A') }, 'oversized'],
      [{ authorization: `Bearer ${token}, Bearer ${token}` }, 'malformed'],
      [{ authorization: 'Bearer' }, 'malformed'],
      [{ authorization: `Bearer s:${token}` }, 'malformed'],
      [{ authorization: 'Bearer not.a.token.at-all' }, 'malformed'],
      [{ authorization: `Bearer ${token.slice(0, -2)}` }, 'bad_signature'],
    ];
    for (const [headers, reason] of cases) {
      h.events.length = 0;
      const reply = await h.call('GET', '/whoami', headers);
      expect(reply.status, reason).toBe(200);
      expect(userOf(reply), reason).toBeNull();
      expect(h.events.find((event) => event.type === 'invalid_token'), reason).toMatchObject({ reason });
    }
    expect(userOf(await h.call('GET', '/whoami', bearer(token)))).toBe('erin');
  });

  it('lets a cross-site header request through the CSRF guard, and refuses the same request with a cookie', async () => {
    const h = await harness(memory.open, { transport: (req) => (req.url?.startsWith('/api/') ? 'header' : 'cookie') });
    const token = tokenOf(await h.call('POST', '/api/signin/frank'))!;
    const cookie = String((await h.call('POST', '/signin/frank')).headers['set-cookie']).split(';')[0]!;
    const crossSite = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' };
    const viaHeader = await h.call('POST', '/api/rename', { ...crossSite, ...bearer(token) });
    expect(viaHeader.status).toBe(200);
    expect(JSON.parse(viaHeader.body)).toEqual({ renamed: 'frank' });
    const viaCookie = await h.call('POST', '/rename', { ...crossSite, cookie });
    expect(viaCookie.status).toBe(403);
    expect(JSON.parse(viaCookie.body)).toEqual({ code: 'CROSS_SITE' });
  });

  it('refuses a transport option it does not know, and a header name that is not one', () => {
    const clock = frozenClock();
    expect(() => session({ secret: SECRET, now: clock.now, transport: 'query' as never })).toThrow(/transport must be one of/);
    expect(() => session({ secret: SECRET, now: clock.now, tokenHeader: 'bad header' })).toThrow(/tokenHeader must be a header name/);
    expect(() => session({ secret: SECRET, now: clock.now, tokenHeader: 'cookie' })).toThrow(/tokenHeader must not be/);
  });
});
