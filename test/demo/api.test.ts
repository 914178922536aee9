/**
 * The demo's API (`/api`, demo/api.ts) over real HTTP, driven by `tessera/client` on Node as
 * the page `/api.html` drives it in a browser: password sign-in for a token pair, `/api/me`
 * with the access token, a refresh when it expires, sign-out, and the API sign-in listed with
 * the user's web sessions. The demo's clock is moved by hand.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type DemoApp } from '../../demo/app.js';
import { createTokenClient } from '../../src/tokens/client.js';

const MINUTE = 60_000;
let dir: string;
let demo: DemoApp;
let url: string;
let closeServer: () => Promise<void>;
let skew: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-demo-api-'));
  skew = 0;
  demo = await createApp({
    secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
    database: join(dir, 'sessions.db'),
    logger: pino({ level: 'silent' }),
    now: () => Date.now() + skew,
  });
  const server = demo.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeServer = () => new Promise((resolve) => server.close(() => resolve()));
});

afterEach(async () => {
  await closeServer();
  await demo.close();
  rmSync(dir, { recursive: true, force: true });
});

async function login(username: string, password: string): Promise<Response> {
  return fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password, device: 'Test phone' }) });
}

describe('the demo API', () => {
  it('signs in with a password for a token pair, and /api/me answers with the access token only', async () => {
    const response = await login('alice', 'alice-demo-password');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('set-cookie')).toBeNull();
    const pair = (await response.json()) as { accessToken: string; refreshToken: string };
    const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${pair.accessToken}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { id: string } }).user.id).toBe('alice');
    const without = await fetch(`${url}/api/me`);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses a wrong password and an unknown user alike with 401', async () => {
    const wrong = await login('alice', 'nope');
    const unknown = await login('mallory', 'nope');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('keeps tessera/client signed in across an access token expiry, and ends the sign-in on sign-out', async () => {
    const client = createTokenClient({ refreshUrl: `${url}/api/token/refresh`, now: () => Date.now() + skew });
    await client.signIn((await (await login('alice', 'alice-demo-password')).json()) as { accessToken: string; refreshToken: string });
    expect((await client.fetch(`${url}/api/me`)).status).toBe(200);
    skew += 20 * MINUTE; // past the 15-minute access token
    const refreshed = await client.fetch(`${url}/api/me`);
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { accessExpiresAt: number }).accessExpiresAt).toBeGreaterThan(Date.now() + skew);
  });

  it('lists the API sign-in with the user’s sessions, and revoking the user ends it', async () => {
    const pair = (await (await login('bob', 'bob-demo-password')).json()) as { accessToken: string; refreshToken: string };
    const listed = await demo.engine.listUserSessions('bob');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ kind: 'tokens', device: 'Test phone' });
    await demo.engine.revokeUser('bob');
    expect((await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${pair.accessToken}` } })).status).toBe(401);
    const refresh = await fetch(`${url}/api/token/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: pair.refreshToken }) });
    expect(refresh.status).toBe(401);
  });

  it('signs out with the refresh token: neither token works afterwards', async () => {
    const pair = (await (await login('alice', 'alice-demo-password')).json()) as { accessToken: string; refreshToken: string };
    const out = await fetch(`${url}/api/logout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: pair.refreshToken }) });
    expect(out.status).toBe(204);
    expect((await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${pair.accessToken}` } })).status).toBe(401);
  });

  it('answers bad JSON with a 400 and an unknown API path with a JSON 404, never an HTML page', async () => {
    const bad = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad_request' });
    const missing = await fetch(`${url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not_found' });
  });

  it('serves the API page and tessera/client for it, under the strict CSP', async () => {
    const page = await fetch(`${url}/api.html`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/api.js"></script>');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const kit = await fetch(`${url}/assets/tessera-client.js`);
    expect(kit.headers.get('content-type')).toMatch(/javascript/);
    expect(await kit.text()).toMatch(/createTokenClient/);
  });
});
