/**
 * The proxy pitfall ("my session does not persist behind nginx"): a `Secure` cookie for a
 * request the app sees as plain HTTP. tessera does not set a cookie the browser would drop (nor
 * store a session nobody can come back to), and says so once, naming the setting to change:
 * a `setup_warning` event and a `TESSERA_SETUP` process warning. Through real HTTP.
 */
import express from 'express';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SECRET, sessionCookie } from './express-helpers.js';

/** A LAN address, as when the quick start is opened from another machine. */
const LAN_HOST = '192.168.1.20:3000';

let warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  if ((warning as { code?: string }).code === 'TESSERA_SETUP') warnings.push(warning);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

function app(options: Partial<ExpressSessionOptions>, trustProxy = false) {
  const events: SessionEvent[] = [];
  const store = new MemoryStore();
  const server = express();
  if (trustProxy) server.set('trust proxy', 1);
  server.use(session({ secret: SECRET, store, onEvent: (event) => void events.push(event), ...options }));
  server.get('/visit', (req, res) => {
    const s = req.session as unknown as Record<string, number>;
    s['n'] = (s['n'] ?? 0) + 1;
    res.send(String(s['n']));
  });
  const setupWarnings = () => events.filter((e) => e.type === 'setup_warning').map((e) => (e as { reason: string }).reason);
  return { server, store, setupWarnings };
}

/** Process warnings are emitted on the next tick. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('a Secure cookie for a request that came over plain HTTP', () => {
  it('from a LAN address with secure: true: no cookie, no stored session, and one warning naming the fix', async () => {
    const { server, store, setupWarnings } = app({ cookie: { secure: true } });
    for (let i = 0; i < 3; i++) {
      const res = await request(server).get('/visit').set('Host', LAN_HOST).expect(200, '1');
      expect(sessionCookie(res)).toBeUndefined();
    }
    expect(store.size).toBe(0);
    await settle();
    expect(setupWarnings()).toEqual(['secure_cookie_over_http']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/cookie\.secure is true but a request came over plain HTTP/);
    expect(warnings[0]!.message).toMatch(/trust proxy/);
  });

  it("with X-Forwarded-Proto: https while 'trust proxy' is off: one warning saying to trust the proxy", async () => {
    const { server, store, setupWarnings } = app({ cookie: { secure: true } });
    const res = await request(server).get('/visit').set('Host', LAN_HOST).set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(res)).toBeUndefined();
    expect(store.size).toBe(0);
    await settle();
    expect(setupWarnings()).toEqual(['untrusted_forwarded_proto']);
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/app\.set\('trust proxy', 1\)|proxy: true/);
  });

  it("behind a trusted proxy (app.set('trust proxy', 1)) the cookie is set, Secure, and nothing is said", async () => {
    const { server, store, setupWarnings } = app({ cookie: { secure: true } }, true);
    const res = await request(server).get('/visit').set('Host', LAN_HOST).set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(res)?.attributes['secure']).toBe(true);
    expect(store.size).toBe(1);
    await settle();
    expect(setupWarnings()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('proxy: true trusts X-Forwarded-Proto as express-session does', async () => {
    const { server, setupWarnings } = app({ cookie: { secure: true }, proxy: true });
    const res = await request(server).get('/visit').set('Host', LAN_HOST).set('X-Forwarded-Proto', 'https').expect(200);
    expect(sessionCookie(res)).toBeDefined();
    expect(setupWarnings()).toEqual([]);
  });

  it('on localhost the Secure cookie is set (browsers keep it there) and nothing is said', async () => {
    for (const host of ['localhost:3000', 'app.localhost', 'LOCALHOST']) {
      const { server, setupWarnings } = app({ cookie: { secure: true } });
      const res = await request(server).get('/visit').set('Host', host).expect(200);
      expect(sessionCookie(res)?.attributes['secure'], host).toBe(true);
      expect(setupWarnings()).toEqual([]);
    }
    await settle();
    expect(warnings).toEqual([]);
  });

  it('on 127.0.0.1 from this machine: no cookie (as express-session), and no warning for a loopback client', async () => {
    const { server, setupWarnings } = app({ cookie: { secure: true } });
    const res = await request(server).get('/visit').set('Host', '127.0.0.1:3000').expect(200);
    expect(sessionCookie(res)).toBeUndefined();
    await settle();
    expect(setupWarnings()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it("secure: 'auto' over plain HTTP sets a cookie without Secure, and says nothing", async () => {
    const { server, setupWarnings } = app({ cookie: { secure: 'auto' } });
    const res = await request(server).get('/visit').set('Host', LAN_HOST).expect(200);
    expect(sessionCookie(res)?.attributes['secure']).toBeUndefined();
    expect(setupWarnings()).toEqual([]);
  });
});
