import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type DemoApp } from '../../demo/app.js';
import { hashPassword } from '../../demo/users.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const ALICE = { username: 'alice', password: 'alice-demo-password' };

let dir: string;
let demo: DemoApp;
let audit: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  audit = [];
  demo = await createApp({
    secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
    database: join(dir, 'sessions.db'),
    log: (line) => audit.push(line),
  });
});

afterEach(async () => {
  await demo.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent (a browser with its cookie jar) signed in as alice. */
async function signedIn(userAgent: string) {
  const agent = request.agent(demo.app);
  const res = await agent.post('/login').set('User-Agent', userAgent).type('form').send(ALICE);
  expect(res.status).toBe(303);
  return agent;
}

/** The `datetime` of the `<time>` after a `<dt>` label on the session page. */
function deadline(page: string, label: string): number {
  const match = new RegExp(`<dt>${label}</dt><dd><time datetime="([^"]+)"`).exec(page);
  expect(match, `${label} on the page`).not.toBeNull();
  return Date.parse(match![1]!);
}

describe('demo app', () => {
  it('hashes the demo passwords with Argon2id', async () => {
    expect(await hashPassword('x')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('shows the sign-in form with the demo credentials', async () => {
    const res = await request(demo.app).get('/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('action="/login"');
    expect(res.text).toContain('alice-demo-password');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('signs in with the right password and sets the session cookie', async () => {
    const res = await request(demo.app).post('/login').type('form').send(ALICE);
    expect(res.status).toBe(303);
    expect(res.headers['location']).toBe('/');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^sid=v1\./);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(audit.some((line) => line.startsWith('[audit] authenticated') && line.includes('user=alice'))).toBe(true);
    // The audit log names sessions by reference only: never the token.
    const token = /^sid=v1\.([^.]+)\./.exec(cookie)?.[1];
    expect(token).toBeDefined();
    expect(audit.join('\n')).not.toContain(token);
  });

  it('refuses a wrong password and an unknown user alike, with 401 and no session', async () => {
    const wrong = await request(demo.app).post('/login').type('form').send({ username: 'alice', password: 'nope' });
    const unknown = await request(demo.app).post('/login').type('form').send({ username: 'mallory', password: 'nope' });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('Wrong username or password.');
      expect(res.text).toContain('action="/login"');
    }
  });

  it('escapes what the user typed', async () => {
    const res = await request(demo.app).post('/login').type('form').send({ username: '"><script>x</script>', password: 'nope' });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
  });

  it('shows the session with its deadlines', async () => {
    const agent = await signedIn(FIREFOX);
    const res = await agent.get('/');
    const now = Date.now();
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('Hello, Alice');
    for (const label of ['Created', 'Last seen', 'Authenticated at']) {
      expect(Math.abs(deadline(res.text, label) - now)).toBeLessThan(60_000);
    }
    expect(Math.abs(deadline(res.text, 'Idle deadline') - (now + 30 * 60_000))).toBeLessThan(60_000);
    expect(Math.abs(deadline(res.text, 'Absolute deadline') - (now + 12 * 3_600_000))).toBeLessThan(60_000);
  });

  it('lists the sessions of two devices, marking this one', async () => {
    const firefox = await signedIn(FIREFOX);
    await signedIn(SAFARI);
    const res = await firefox.get('/');
    expect(res.text).toContain('Your sessions <span class="count">2</span>');
    expect(res.text).toContain('Firefox 128 on Linux <span class="badge">this device</span>');
    expect(res.text).toContain('Safari 17 on iOS</td>');
    expect(res.text.match(/<td data-label="IP"><code>127\.0\.0\.1<\/code><\/td>/g)).toHaveLength(2);
    expect(res.text.match(/\/revoke"/g)).toHaveLength(1);
  });

  it('revokes the other session: its cookie no longer works', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);
    const page = (await firefox.get('/')).text;
    const action = /action="(\/sessions\/[^"]+\/revoke)"/.exec(page)?.[1];
    expect(action).toBeDefined();

    const revoke = await firefox.post(action!);
    expect(revoke.status).toBe(303);
    expect(audit.some((line) => line.startsWith('[audit] revoked') && line.includes('reason=user'))).toBe(true);

    const gone = await safari.get('/');
    expect(gone.text).toContain('action="/login"');
    const still = await firefox.get('/');
    expect(still.text).toContain('Your sessions <span class="count">1</span>');
  });

  it('cannot revoke a session of another user', async () => {
    const alice = await signedIn(FIREFOX);
    await signedIn(SAFARI);
    const action = /action="(\/sessions\/[^"]+\/revoke)"/.exec((await alice.get('/')).text)?.[1];
    expect(action).toBeDefined();
    const bob = request.agent(demo.app);
    await bob.post('/login').type('form').send({ username: 'bob', password: 'bob-demo-password' }).expect(303);
    await bob.post(action!).expect(303);
    expect((await alice.get('/')).text).toContain('Your sessions <span class="count">2</span>');
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const agent = await signedIn(FIREFOX);
    const res = await agent.post('/logout');
    expect(res.status).toBe(303);
    expect(String(res.headers['set-cookie'])).toMatch(/^sid=;/);
    expect(res.headers['clear-site-data']).toContain('"cookies"');
    expect((await agent.get('/')).text).toContain('action="/login"');
  });

  it('signs out everywhere: both sessions end', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);
    const res = await firefox.post('/logout-everywhere');
    expect(res.status).toBe(303);
    expect((await firefox.get('/')).text).toContain('action="/login"');
    expect((await safari.get('/')).text).toContain('action="/login"');
  });

  it('refuses cross-site state-changing requests with 403', async () => {
    const agent = await signedIn(FIREFOX);
    const crossSite = await agent.post('/logout-everywhere').set('Sec-Fetch-Site', 'cross-site');
    expect(crossSite.status).toBe(403);
    const sameSite = await agent.post('/logout').set('Sec-Fetch-Site', 'same-site');
    expect(sameSite.status).toBe(403);
    const foreignOrigin = await agent.post('/logout').set('Origin', 'https://evil.example');
    expect(foreignOrigin.status).toBe(403);
    const login = await request(demo.app).post('/login').set('Sec-Fetch-Site', 'cross-site').type('form').send(ALICE);
    expect(login.status).toBe(403);
    expect(login.headers['set-cookie']).toBeUndefined();
    // Still signed in.
    expect((await agent.get('/')).text).toContain('Hello, Alice');
    // A same-origin form post is fine.
    const sameOrigin = await agent.post('/logout').set('Sec-Fetch-Site', 'same-origin');
    expect(sameOrigin.status).toBe(303);
  });

  it('accepts a same-origin Origin header when Sec-Fetch-Site is absent', async () => {
    const res = await request(demo.app)
      .post('/login')
      .set('Host', 'localhost:3000')
      .set('Origin', 'http://localhost:3000')
      .type('form')
      .send(ALICE);
    expect(res.status).toBe(303);
  });

  it('sends helmet security headers with a strict CSP', async () => {
    const res = await request(demo.app).get('/');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("form-action 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('script-src');
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('serves the stylesheet without touching the session', async () => {
    const res = await request(demo.app).get('/style.css');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/css');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('answers 503 with a page when the store is unavailable', async () => {
    const agent = await signedIn(FIREFOX);
    await demo.close();
    const page = await agent.get('/');
    expect(page.status).toBe(503);
    expect(page.text).toContain('Service unavailable');
    const login = await request(demo.app).post('/login').type('form').send(ALICE);
    expect(login.status).toBe(503);
    expect(login.text).toContain('Service unavailable');
    expect(audit.some((line) => line.startsWith('[audit] store_error'))).toBe(true);
  });

  it('uses a __Host- cookie that is always Secure in production', async () => {
    const prod = await createApp({
      secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
      database: join(dir, 'production.db'),
      production: true,
      log: () => undefined,
    });
    try {
      const res = await request(prod.app).post('/login').type('form').send(ALICE);
      expect(res.status).toBe(303);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/^__Host-sid=v1\./);
      expect(cookie).toContain('Secure');
      expect(cookie).toContain('Path=/');
      expect(cookie).not.toContain('Domain');
      expect(String(res.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
    } finally {
      await prod.close();
    }
  });

  it('answers 404 with a page', async () => {
    const res = await request(demo.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.text).toContain('Not found');
  });
});
