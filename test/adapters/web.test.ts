/**
 * `tessera/web`, `tessera/hono` and `tessera/next` beyond the conformance suite: the
 * Request/Response contract itself (what a route handler of any Fetch runtime sees).
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { honoSessions, type SessionVariables } from '../../src/adapters/hono/index.js';
import { nextSessions, parseSetCookie as nextCookie, type NextCookie } from '../../src/adapters/next/index.js';
import { urlParts } from '../../src/adapters/web/headers.js';
import { createWebSessions } from '../../src/adapters/web/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { frozenClock } from '../helpers/clock.js';

const SECRET = 'web-test-secret-0123456789-abcdefghijklmnopq';
const clock = frozenClock();
const options = () => ({ secret: SECRET, store: new MemoryStore({ now: clock.now }), now: clock.now, cookie: { name: 'sid', secure: false } });
const sidOf = (response: Response): string | undefined => response.headers.getSetCookie().find((line) => line.startsWith('sid='))?.split(';')[0];

describe('tessera/web', () => {
  it("reads a Request's scheme, host and path as URL would", () => {
    for (const url of ['http://a.test/x/y?q=1#h', 'https://b.test:8443/', 'http://c.test', 'http://[::1]:3000/p%20q?x', 'https://d.test/a#frag', 'http://e.test/?a/b', 'http://f.test/%2e%2E/x']) {
      const serialized = new Request(url).url;
      const parsed = new URL(serialized);
      expect(urlParts(serialized), url).toEqual({ https: parsed.protocol === 'https:', host: parsed.host, path: parsed.pathname });
    }
  });

  it('puts the cookie on a response whose headers are immutable (Response.redirect) by copying it', async () => {
    const sessions = createWebSessions(options());
    const handler = sessions.withSession(async (_request, session) => {
      await session.signIn('ada');
      return Response.redirect('http://app.test/home', 303);
    });
    const response = await handler(new Request('http://app.test/login', { method: 'POST' }));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('http://app.test/home');
    expect(sidOf(response)).toBeDefined();
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('hands a store failure to onError, or throws it to the caller without one', async () => {
    const store = new MemoryStore({ now: clock.now });
    const sessions = createWebSessions({ ...options(), store });
    const signIn = await sessions.withSession(async (_r, s) => (await s.signIn('ada'), new Response('ok')))(new Request('http://app.test/', { method: 'POST' }));
    store.get = () => Promise.reject(new Error('connect ECONNREFUSED'));
    const request = () => new Request('http://app.test/', { headers: { cookie: sidOf(signIn)! } });
    const answered = await sessions.withSession(async () => new Response('never'), { onError: (e) => new Response(String((e as { code?: string }).code), { status: 503 }) })(request());
    expect([answered.status, await answered.text()]).toEqual([503, 'STORE_UNAVAILABLE']);
    const thrown = await sessions.withSession(async () => new Response('never'))(request()).catch((e: unknown) => e);
    expect(isTesseraError(thrown, 'STORE_UNAVAILABLE')).toBe(true);
  });

  it('accepts a CSRF token from a form body and leaves the body for the handler', async () => {
    const sessions = createWebSessions(options());
    const first = await sessions.load(new Request('http://app.test/form'));
    const token = first.csrfToken();
    const visitor = (await first.commit(new Response('form'))).headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const post = new Request('http://app.test/form', { method: 'POST', headers: { cookie: visitor, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${token}&name=ada` });
    const ws = await sessions.load(post);
    expect(await sessions.csrf(post, ws)).toBeUndefined();
    expect((await post.formData()).get('name')).toBe('ada');
    const forged = new Request('http://app.test/form', { method: 'POST', headers: { cookie: visitor, 'content-type': 'application/x-www-form-urlencoded' }, body: '_csrf=nope' });
    expect(isTesseraError(await sessions.csrf(forged, await sessions.load(forged)), 'CROSS_SITE')).toBe(true);
  });
});

describe('tessera/hono', () => {
  it('keeps its cookie on a response whose headers are immutable', async () => {
    const app = new Hono<{ Variables: SessionVariables }>();
    const sessions = honoSessions(options());
    app.use(sessions.middleware);
    app.post('/login', async (c) => {
      await c.get('session').signIn('ada');
      return Response.redirect('http://app.test/', 303);
    });
    const response = await app.request('http://app.test/login', { method: 'POST' });
    expect(response.status).toBe(303);
    expect(sidOf(response)).toBeDefined();
  });
});

describe('tessera/next', () => {
  it('runs a server action with the cookie read and written through cookies()', async () => {
    const jar = new Map<string, string>();
    const written: NextCookie[] = [];
    const cookies = () => ({ getAll: () => [...jar].map(([name, value]) => ({ name, value })), set: (cookie: NextCookie) => void (written.push(cookie), jar.set(cookie.name, cookie.value)) });
    const headers = () => ({ get: (name: string) => (name === 'host' ? 'app.test' : null) });
    const sessions = nextSessions({ ...options(), cookies, headers });
    await sessions.action((session) => session.signIn('ada'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ name: 'sid', httpOnly: true, sameSite: 'lax', path: '/' });
    expect(await sessions.action((session) => session.userId)).toBe('ada');
  });

  it('refuses action() without cookies and headers from next/headers', async () => {
    const sessions = nextSessions(options());
    expect(isTesseraError(await sessions.action(() => 1).catch((e: unknown) => e), 'INVALID_OPTION')).toBe(true);
  });

  it('reads a Set-Cookie line as cookies().set() takes it', () => {
    expect(nextCookie('__Host-sid=s%3Aabc; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Strict; Partitioned; Priority=High')).toEqual({
      name: '__Host-sid', value: 's:abc', maxAge: 60, path: '/', httpOnly: true, secure: true, sameSite: 'strict', partitioned: true, priority: 'high',
    });
  });
});
