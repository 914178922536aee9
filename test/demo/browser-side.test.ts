// The demo's server side of tessera/browser, over HTTP (supertest): the status and keep-alive
// routes, why the last session ended on the sign-in page, the timing variables, the password
// form's hidden username, and demo passwords that stop being shown once changed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type DemoApp } from '../../demo/app.js';
import { parseDuration, spokenDuration, timingsFrom, type DemoTimings } from '../../demo/config.js';

const ALICE = { username: 'alice', password: 'alice-demo-password' };
let dir: string | undefined;
let demo: DemoApp | undefined;
let skew = 0;

async function start(timings: DemoTimings = {}): Promise<DemoApp> {
  dir = mkdtempSync(join(tmpdir(), 'tessera-demo-kit-'));
  skew = 0;
  demo = await createApp({
    secret: 'a-test-secret-that-is-long-enough-for-hmac-sha256',
    database: join(dir, 'sessions.db'),
    logger: pino({ enabled: false }),
    now: () => Date.now() + skew,
    timings,
  });
  return demo;
}

afterEach(async () => {
  await demo?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  demo = undefined;
  dir = undefined;
});

type Agent = ReturnType<typeof request.agent>;

function csrfIn(page: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
}

async function signedIn(app: DemoApp, fields = ALICE): Promise<Agent> {
  const agent = request.agent(app.app);
  const page = await agent.get('/');
  expect((await agent.post('/login').type('form').send({ ...fields, _csrf: csrfIn(page.text) })).status).toBe(303);
  return agent;
}

describe('demo: status and keep-alive routes', () => {
  it('answers the status as JSON with Cache-Control: no-store, and never the token', async () => {
    const app = await start({ idleTimeout: 20_000 });
    const agent = await signedIn(app);
    const res = await agent.get('/session/status').expect(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(Object.keys(res.body).sort()).toEqual(['absoluteExpiresAt', 'endReason', 'idleExpiresAt', 'now', 'signedIn']);
    expect(res.body).toMatchObject({ signedIn: true, endReason: null });
    expect(res.body.idleExpiresAt - res.body.now).toBeLessThanOrEqual(20_000);
    expect((await request(app.app).get('/session/status')).body).toMatchObject({ signedIn: false, idleExpiresAt: null });
  });

  it('lets status polls pass the idle deadline, and keep-alive (same-origin POST) extend it', async () => {
    const app = await start({ idleTimeout: 20_000 });
    const polled = await signedIn(app);
    const kept = await signedIn(app);
    for (let i = 0; i < 5; i++) {
      skew += 5_000;
      await polled.get('/session/status').expect(200);
      await kept.post('/session/keep-alive').set('Sec-Fetch-Site', 'same-origin').expect(200);
    }
    expect((await polled.get('/session/status')).body).toMatchObject({ signedIn: false, endReason: 'idle' });
    expect((await kept.get('/session/status')).body).toMatchObject({ signedIn: true });
    // A cross-site keep-alive is refused by the CSRF guard.
    expect((await kept.post('/session/keep-alive').set('Sec-Fetch-Site', 'cross-site')).status).toBe(403);
  });
});

describe('demo: why the last session ended', () => {
  it('says so on the sign-in page after an idle timeout, a sign-out, a revocation elsewhere and an administrator', async () => {
    const app = await start({ idleTimeout: 20_000 });
    const idle = await signedIn(app);
    skew += 21_000;
    expect((await idle.get('/')).text).toContain('You were signed out after 20 seconds without activity.');

    const out = await signedIn(app);
    const page = (await out.get('/')).text;
    expect(page).toContain('data-tessera-signout');
    await out.post('/logout').type('form').send({ _csrf: csrfIn(page) }).expect(303);
    expect((await out.get('/')).text).toContain('<p class="notice" role="status" id="ended">You signed out.</p>');

    const phone = await signedIn(app);
    const laptop = await signedIn(app);
    await laptop.post('/logout-everywhere').set('Sec-Fetch-Site', 'same-origin').expect(303);
    expect((await phone.get('/')).text).toContain('You signed out on another device.');

    const bob = await signedIn(app, { username: 'bob', password: 'bob-demo-password' });
    await app.engine.revokeUser('bob');
    expect((await bob.get('/')).text).toContain('An administrator signed you out.');
    // Nothing to say on a first visit.
    expect((await request(app.app).get('/')).text).not.toContain('id="ended"');
  });
});

describe('demo: pages', () => {
  it('puts a hidden username field in the password forms, and loads its one script from this origin', async () => {
    const app = await start();
    const agent = await signedIn(app);
    const page = (await agent.get('/')).text;
    const form = /<form method="post" action="\/password"[\s\S]*?<\/form>/.exec(page)![0];
    expect(form).toContain('<input type="text" name="username" autocomplete="username" value="alice" hidden readonly>');
    expect(page).toContain('<script type="module" src="/session.js"></script>');
    expect(page).toMatch(/<body data-page="session" data-warn-before="60000" data-poll="60000" data-activity="60000" data-signin-timeout="600000">/);
    const kit = await agent.get('/assets/tessera-browser.js').expect(200);
    expect(kit.headers['content-type']).toContain('text/javascript');
    expect(kit.text).toContain('tessera-session');
  });

  it('no longer shows a demo password once it was changed', async () => {
    const app = await start();
    expect((await request(app.app).get('/')).text).toContain('alice-demo-password');
    const agent = await signedIn(app);
    const page = (await agent.get('/')).text;
    const newPassword = 'a-brand-new-passphrase';
    await agent.post('/password').type('form').send({ current: ALICE.password, password: newPassword, confirm: newPassword, _csrf: csrfIn(page) }).expect(200);
    const signIn = (await request(app.app).get('/')).text;
    expect(signIn).not.toContain('alice-demo-password');
    expect(signIn).toContain('bob-demo-password');
  });
});

describe('demo: timing variables', () => {
  it('reads IDLE_TIMEOUT, ABSOLUTE_TIMEOUT, ROTATE_EVERY and SIGNIN_TIMEOUT as durations', () => {
    expect(timingsFrom({ IDLE_TIMEOUT: '20s', ABSOLUTE_TIMEOUT: '10m', ROTATE_EVERY: '3m', SIGNIN_TIMEOUT: '90' })).toEqual({
      idleTimeout: 20_000,
      absoluteTimeout: 600_000,
      rotateEvery: 180_000,
      signInTimeout: 90_000,
    });
    expect(timingsFrom({})).toEqual({});
    expect(parseDuration('1h', 'X')).toBe(3_600_000);
    expect(parseDuration('500ms', 'X')).toBe(500);
    for (const bad of ['0', '-5s', '5 days', 'abc', '1e9']) expect(() => parseDuration(bad, 'IDLE_TIMEOUT')).toThrow(/IDLE_TIMEOUT/);
    expect(spokenDuration(30 * 60_000)).toBe('30 minutes');
    expect(spokenDuration(90_000)).toBe('1 minute 30 seconds');
  });

  it('applies them to the sessions', async () => {
    const app = await start({ idleTimeout: 120_000, absoluteTimeout: 600_000, rotateEvery: 180_000 });
    expect(app.engine.options).toMatchObject({ idleTimeout: 120_000, absoluteTimeout: 600_000, rotateEvery: 180_000 });
  });
});
