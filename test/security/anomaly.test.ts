import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { sameNetwork } from '../../src/core/anomaly.js';
import { MemoryStore } from '../../src/store/memory.js';
import { frozenClock } from '../helpers/clock.js';
import { cookieHeader, theSetCookie, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, type AppOptions, type TestApp, type WhoAmI } from '../helpers/express-app.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const CURL = 'curl/8.5.0';

function setup(options: AppOptions = {}): TestApp {
  const clock = frozenClock();
  return buildApp({ store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now, ...options });
}

async function signIn(t: TestApp): Promise<SetCookie> {
  const res = await request(t.app).post('/signin/alice').set('User-Agent', FIREFOX).expect(200);
  return theSetCookie(res, DEFAULT_NAME);
}

async function whoami(t: TestApp, cookie: SetCookie, userAgent: string) {
  const res = await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).set('User-Agent', userAgent).expect(200);
  return { body: res.body as WhoAmI, res };
}

const CHROME_130 = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const CHROME_131 = CHROME_130.replace('Chrome/130', 'Chrome/131');
const FIREFOX_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

describe('anomaly detection', () => {
  it("does not sign anyone out for a browser update (Chrome/130 → 131), even with policy 'revoke'; Chrome → Firefox is an anomaly", async () => {
    const t = setup({ anomaly: { policy: 'revoke' } });
    const cookie = theSetCookie(await request(t.app).post('/signin/alice').set('User-Agent', CHROME_130).expect(200), DEFAULT_NAME);
    expect((await whoami(t, cookie, CHROME_131)).body.userId).toBe('alice');
    expect((await whoami(t, cookie, CHROME_131)).body.userId).toBe('alice');
    expect(t.events.filter((e) => e.type === 'anomaly')).toEqual([]);
    expect((await whoami(t, cookie, FIREFOX_WIN)).body.userId).toBeNull();
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'anomaly', changed: ['user_agent'], action: 'revoke' }));
  });

  it('reports a changed user agent once by default and keeps the session', async () => {
    const t = setup();
    const cookie = await signIn(t);

    expect((await whoami(t, cookie, FIREFOX)).body.userId).toBe('alice');
    expect(t.events.filter((e) => e.type === 'anomaly')).toEqual([]);

    expect((await whoami(t, cookie, CURL)).body.userId).toBe('alice');
    expect((await whoami(t, cookie, CURL)).body.userId).toBe('alice');
    const anomalies = t.events.filter((e) => e.type === 'anomaly');
    expect(anomalies).toEqual([expect.objectContaining({ changed: ['user_agent'], action: 'report', userId: 'alice' })]);
  });

  it("ends the session on a changed user agent with policy 'revoke'", async () => {
    const t = setup({ anomaly: { policy: 'revoke' } });
    const cookie = await signIn(t);

    const { body } = await whoami(t, cookie, CURL);
    expect(body).toEqual({ userId: null, data: {}, isNew: true });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'anomaly' }));
    expect((await whoami(t, cookie, FIREFOX)).body.userId).toBeNull();
  });

  it("signs the user out but keeps the data under a new token with policy 'require-reauth'", async () => {
    const t = setup({ anomaly: { policy: 'require-reauth' } });
    const cookie = await signIn(t);
    await request(t.app).post('/set/cart/apples').set('Cookie', cookieHeader(cookie)).set('User-Agent', FIREFOX).expect(200);

    const { body, res } = await whoami(t, cookie, CURL);
    expect(body.userId).toBeNull();
    expect(body.data).toEqual({ cart: 'apples' });
    const fresh = theSetCookie(res, DEFAULT_NAME);
    expect(fresh.value).not.toBe(cookie.value);
    expect((await whoami(t, fresh, CURL)).body).toMatchObject({ userId: null, data: { cart: 'apples' } });
  });

  it('can be turned off', async () => {
    const t = setup({ anomaly: false });
    const cookie = await signIn(t);
    await whoami(t, cookie, CURL);
    expect(t.events.filter((e) => e.type === 'anomaly')).toEqual([]);
  });
});

describe('IP comparison by prefix', () => {
  const prefix = { v4: 24, v6: 64 };

  it('treats addresses of one /24 (IPv4) or /64 (IPv6) as the same network', () => {
    expect(sameNetwork('203.0.113.7', '203.0.113.200', prefix)).toBe(true);
    expect(sameNetwork('203.0.113.7', '203.0.114.7', prefix)).toBe(false);
    expect(sameNetwork('2001:db8:1:2::1', '2001:db8:1:2:ffff::9', prefix)).toBe(true);
    expect(sameNetwork('2001:db8:1:2::1', '2001:db8:1:3::1', prefix)).toBe(false);
  });

  it('sees IPv4 through an IPv6 socket as IPv4, and never matches across families or garbage', () => {
    expect(sameNetwork('::ffff:203.0.113.7', '203.0.113.9', prefix)).toBe(true);
    expect(sameNetwork('203.0.113.7', '2001:db8::1', prefix)).toBe(false);
    expect(sameNetwork('not-an-ip', '203.0.113.7', prefix)).toBe(false);
  });

  it('reports a move to another network through the engine', async () => {
    const t = setup({ proxy: true });
    const events = t.events;
    const app = t.app;
    app.set('trust proxy', true);
    const res = await request(app).post('/signin/alice').set('X-Forwarded-For', '198.51.100.10').expect(200);
    const cookie = theSetCookie(res, DEFAULT_NAME);
    await request(app).get('/whoami').set('Cookie', cookieHeader(cookie)).set('X-Forwarded-For', '198.51.100.99').expect(200);
    expect(events.filter((e) => e.type === 'anomaly')).toEqual([]);
    await request(app).get('/whoami').set('Cookie', cookieHeader(cookie)).set('X-Forwarded-For', '192.0.2.1').expect(200);
    expect(events.filter((e) => e.type === 'anomaly')).toEqual([expect.objectContaining({ changed: ['ip'] })]);
  });
});
