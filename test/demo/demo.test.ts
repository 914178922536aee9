import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type DemoApp } from '../../demo/app.js';
import { hashPassword } from '../../demo/users.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const ALICE = { username: 'alice', password: 'alice-demo-password' };
const NEW_PASSWORD = 'a-brand-new-passphrase';
const MINUTE = 60_000;

let dir: string;
let demo: DemoApp;
/** The JSON lines the app logged. */
let logs: string[];
/** How far the app's clock is ahead of the real one. */
let skew: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  logs = [];
  skew = 0;
  demo = await createApp({
    secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
    database: join(dir, 'sessions.db'),
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
    now: () => Date.now() + skew,
  });
});

afterEach(async () => {
  await demo.close();
  rmSync(dir, { recursive: true, force: true });
});

type Agent = ReturnType<typeof request.agent>;

/** The session events logged so far (`logEvents` puts each under `session`). */
function events(): Array<Record<string, unknown>> {
  return logs.map((line) => JSON.parse(line) as { session?: Record<string, unknown> }).flatMap((entry) => (entry.session === undefined ? [] : [entry.session]));
}

/** The CSRF token in a page's forms. */
function csrfIn(page: string): string {
  const token = /<input type="hidden" name="_csrf" value="([^"]+)">/.exec(page)?.[1];
  expect(token, 'a _csrf field on the page').toBeDefined();
  return token!;
}

/**
 * Submit a form as an old browser would: with the `_csrf` field of the page at `/` and neither
 * `Sec-Fetch-Site` nor `Origin`, so the token is what lets it through.
 */
async function submit(agent: Agent, action: string, fields: Record<string, string> = {}, userAgent = FIREFOX) {
  const page = await agent.get('/').set('User-Agent', userAgent);
  return agent.post(action).set('User-Agent', userAgent).type('form').send({ ...fields, _csrf: csrfIn(page.text) });
}

/** An agent (a browser with its cookie jar) signed in as alice: a first visit, then the form. */
async function signedIn(userAgent: string, password = ALICE.password) {
  const agent = request.agent(demo.app);
  const res = await submit(agent, '/login', { ...ALICE, password }, userAgent);
  expect(res.status).toBe(303);
  return agent;
}

/** Change alice's password from the session page. */
function changePassword(agent: Agent, current = ALICE.password, password = NEW_PASSWORD, confirm = password) {
  return submit(agent, '/password', { current, password, confirm });
}

/** A POST as a current browser sends it from one of the app's own pages. */
function sameOriginPost(path: string) {
  return request(demo.app).post(path).set('Sec-Fetch-Site', 'same-origin').type('form');
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

  it('shows the sign-in form with the demo credentials and a CSRF token', async () => {
    const res = await request(demo.app).get('/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('action="/login"');
    expect(res.text).toContain('alice-demo-password');
    csrfIn(res.text);
    // A visitor's token is stateless: a cookie of its own, and no session, no store row.
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^tessera-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(events().filter((e) => e['type'] === 'created')).toEqual([]);
  });

  it('signs in with the right password and sets the session cookie', async () => {
    const agent = request.agent(demo.app);
    const res = await submit(agent, '/login', ALICE);
    expect(res.status).toBe(303);
    expect(res.headers['location']).toBe('/');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^sid=s%3A/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(events()).toContainEqual(expect.objectContaining({ type: 'authenticated', userId: 'alice' }));
  });

  it('refuses a wrong password and an unknown user alike, with 401, signing nobody in', async () => {
    const agent = request.agent(demo.app);
    const wrong = await submit(agent, '/login', { username: 'alice', password: 'nope' });
    const unknown = await submit(agent, '/login', { username: 'mallory', password: 'nope' });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('Wrong username or password.');
      expect(res.text).toContain('action="/login"');
    }
    expect((await agent.get('/')).text).toContain('action="/login"');
    expect(events().some((event) => event['type'] === 'authenticated')).toBe(false);
  });

  it('escapes what the user typed', async () => {
    const res = await sameOriginPost('/login').send({ username: '"><script>x</script>', password: 'nope' });
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

    const revoke = await submit(firefox, action!);
    expect(revoke.status).toBe(303);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'user', userId: 'alice' }));

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
    expect((await submit(bob, '/login', { username: 'bob', password: 'bob-demo-password' })).status).toBe(303);
    expect((await submit(bob, action!)).status).toBe(303);
    expect((await alice.get('/')).text).toContain('Your sessions <span class="count">2</span>');
  });

  it('signs out: the session ends and the cookie is cleared', async () => {
    const agent = await signedIn(FIREFOX);
    const res = await submit(agent, '/logout');
    expect(res.status).toBe(303);
    expect(String(res.headers['set-cookie'])).toMatch(/^sid=;/);
    expect(res.headers['clear-site-data']).toBe('"cache", "storage"');
    expect((await agent.get('/')).text).toContain('action="/login"');
  });

  it('signs out everywhere: both sessions end', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);
    const res = await submit(firefox, '/logout-everywhere');
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

  it('requires the CSRF token when the browser sends neither Sec-Fetch-Site nor Origin', async () => {
    const agent = await signedIn(FIREFOX);
    const token = csrfIn((await agent.get('/')).text);
    const without = await agent.post('/logout').type('form').send({});
    expect(without.status).toBe(403);
    expect(without.text).toContain('Forbidden');
    const wrong = await agent.post('/logout').type('form').send({ _csrf: 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    // A token of another session does not work either.
    const other = request.agent(demo.app);
    const foreign = csrfIn((await other.get('/')).text);
    expect(foreign).not.toBe(token);
    expect((await agent.post('/logout').type('form').send({ _csrf: foreign })).status).toBe(403);
    expect((await agent.get('/')).text).toContain('Hello, Alice');

    const withToken = await agent.post('/logout').type('form').send({ _csrf: token });
    expect(withToken.status).toBe(303);
    // The header works as well as the field.
    const bob = request.agent(demo.app);
    const bobToken = csrfIn((await bob.get('/')).text);
    const login = await bob.post('/login').set('X-CSRF-Token', bobToken).type('form').send({ username: 'bob', password: 'bob-demo-password' });
    expect(login.status).toBe(303);
  });

  it('refuses a first-visit form post without a session, which cannot have a token', async () => {
    const res = await request(demo.app).post('/login').type('form').send(ALICE);
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie']).toBeUndefined();
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
    // Scripts from this origin only (public/session.js and tessera/browser), none inline.
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
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
    const login = await sameOriginPost('/login').send(ALICE);
    expect(login.status).toBe(503);
    expect(login.text).toContain('Service unavailable');
    expect(events()).toContainEqual(expect.objectContaining({ type: 'store_error' }));
  });

  it('uses a __Host- cookie that is always Secure in production', async () => {
    const prod = await createApp({
      secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
      database: join(dir, 'production.db'),
      production: true,
      trustProxy: true,
      logger: pino({ enabled: false }),
    });
    try {
      // Behind the TLS proxy a production deployment has: a Secure cookie is not sent over plain HTTP.
      const res = await request(prod.app)
        .post('/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Sec-Fetch-Site', 'same-origin')
        .type('form')
        .send(ALICE);
      expect(res.status).toBe(303);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/^__Host-sid=s%3A/);
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

describe('password change', () => {
  it('signs out the other devices and keeps this one', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);
    const page = (await firefox.get('/')).text;
    expect(page).toContain('action="/password"');

    const res = await changePassword(firefox);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Password changed');
    expect(res.text).toContain('1 other session was signed out.');
    expect(events()).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'sign_out_others', userId: 'alice', count: 1 }));

    expect((await safari.get('/')).text).toContain('action="/login"');
    const still = await firefox.get('/');
    expect(still.text).toContain('Hello, Alice');
    expect(still.text).toContain('Your sessions <span class="count">1</span>');
  });

  it('makes the new password the one that signs in', async () => {
    const agent = await signedIn(FIREFOX);
    expect((await changePassword(agent)).status).toBe(200);
    const old = await submit(request.agent(demo.app), '/login', ALICE);
    expect(old.status).toBe(401);
    await signedIn(SAFARI, NEW_PASSWORD);
  });

  it('refuses a wrong current password (401) and a short or mistyped new one (400), changing nothing', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);

    const wrong = await changePassword(firefox, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The current password is wrong.');
    const short = await changePassword(firefox, ALICE.password, 'too-short');
    expect(short.status).toBe(400);
    expect(short.text).toContain('must have 12 to 1024 characters');
    const mistyped = await changePassword(firefox, ALICE.password, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    expect(mistyped.status).toBe(400);
    expect(mistyped.text).toContain('differ');

    expect((await safari.get('/')).text).toContain('Hello, Alice');
    await signedIn(SAFARI);
  });

  it('asks a sign-in older than 10 minutes to sign in again first', async () => {
    const firefox = await signedIn(FIREFOX);
    const safari = await signedIn(SAFARI);
    skew = 11 * MINUTE;

    const stale = await changePassword(firefox);
    expect(stale.status).toBe(403);
    expect(stale.text).toContain('Confirm it is you');
    expect(stale.text).toContain('action="/reauth"');
    // Nothing changed: the other device is still in, the old password still works.
    expect((await safari.get('/')).text).toContain('Hello, Alice');

    const wrong = await submit(firefox, '/reauth', { password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong password.');

    const reauth = await submit(firefox, '/reauth', { password: ALICE.password });
    expect(reauth.status).toBe(303);
    expect(reauth.headers['location']).toBe('/#password');
    // Signing in again replaces the token.
    expect(String(reauth.headers['set-cookie'])).toMatch(/^sid=s%3A/);

    const changed = await changePassword(firefox);
    expect(changed.status).toBe(200);
    expect((await safari.get('/')).text).toContain('action="/login"');
  });

  it('sends a signed-out request back to the sign-in form', async () => {
    const res = await sameOriginPost('/password').send({ current: 'x', password: NEW_PASSWORD, confirm: NEW_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers['location']).toBe('/');
  });
});

describe('logs', () => {
  it('are pino JSON lines naming the session by reference, never by token or cookie value', async () => {
    const agent = request.agent(demo.app);
    const login = await submit(agent, '/login', ALICE);
    const cookie = /^sid=([^;]+)/.exec(String(login.headers['set-cookie']))?.[1];
    const [, sid, token] = /^s%3A([^.]+)\.([^.]+)\./.exec(cookie ?? '') ?? [];
    expect(token).toBeDefined();
    expect(sid).toBeDefined();
    const page = await agent.get('/');
    expect((await changePassword(agent)).status).toBe(200);

    const lines = logs.map((line) => JSON.parse(line) as { level: number; msg: string; session?: Record<string, unknown> });
    const authenticated = events().find((event) => event['type'] === 'authenticated');
    const ref = authenticated?.['sessionRef'];
    expect(ref).toMatch(/^[\w-]{22}$/);
    expect(authenticated).toMatchObject({ userId: 'alice', method: 'POST', path: '/login' });
    // morgan's access lines carry the same reference.
    expect(lines.map((line) => line.msg)).toContainEqual(expect.stringMatching(new RegExp(`^GET / 200 .* session=${ref} user=alice$`)));

    const text = logs.join('\n');
    expect(text).not.toContain(token);
    expect(text).not.toContain(sid);
    expect(text).not.toContain(cookie);
    expect(text).not.toContain(csrfIn(page.text));
    expect(text).not.toContain(NEW_PASSWORD);
  });
});
