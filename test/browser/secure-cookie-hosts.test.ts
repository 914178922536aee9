// Where a `Secure` cookie set over plain HTTP survives, in a real Chromium, and where tessera
// sets one: Chromium keeps it on loopback hosts (localhost, 127.0.0.1), which it treats as
// secure contexts, and drops it elsewhere. tessera sets it over http on `localhost` only (on
// 127.0.0.1 it does as express-session does: no Secure cookie over plain HTTP); on another host
// (here app.tessera.test, standing for a LAN address) it sends none, stores nothing, and warns
// once (the proxy pitfall, README "Hardening").
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { TESSERA_TEST_HOSTS, describeBrowser, launchBrowser, serve, type TestServer } from '../helpers/browser.js';

const SECRET = 'secure-cookie-hosts-secret-0123456789-abcdefgh';

describeBrowser('a Secure session cookie over plain HTTP, in Chromium', () => {
  let browser: Browser | undefined;
  let server: TestServer | undefined;
  const store = new MemoryStore();
  const events: SessionEvent[] = [];

  beforeAll(async () => {
    browser = await launchBrowser({ hostResolverRules: TESSERA_TEST_HOSTS });
    const app = express();
    app.get('/favicon.ico', (_req, res) => void res.status(204).end());
    // Not tessera: a Secure cookie set unconditionally, to see what Chromium keeps where.
    app.get('/probe-set', (_req, res) => void res.setHeader('Set-Cookie', 'probe=1; Secure; HttpOnly; Path=/probe').send('set'));
    app.get('/probe', (req, res) => void res.type('text').send(req.headers.cookie ?? 'none'));
    app.use(session({ secret: SECRET, store, cookie: { secure: true }, onEvent: (event) => void events.push(event) }));
    app.get('/visit', (req, res) => {
      const s = req.session as unknown as Record<string, number>;
      s['n'] = (s['n'] ?? 0) + 1;
      res.type('text').send(String(s['n']));
    });
    server = await serve(app);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function visits(host: string): Promise<string[]> {
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      const seen: string[] = [];
      for (let i = 0; i < 3; i++) {
        await page.goto(server!.url(host, '/visit'));
        seen.push((await page.textContent('body'))!.trim());
      }
      return seen;
    } finally {
      await context.close();
    }
  }

  it('Chromium keeps a Secure cookie set over plain HTTP on loopback hosts only', async () => {
    for (const [host, expected] of [['localhost', 'probe=1'], ['127.0.0.1', 'probe=1'], ['app.tessera.test', 'none']] as const) {
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(server!.url(host, '/probe-set'));
      await page.goto(server!.url(host, '/probe'));
      expect((await page.textContent('body'))!.trim(), host).toBe(expected);
      await context.close();
    }
  });

  it('on localhost, tessera sets it, Chromium keeps it, and the session carries on', async () => {
    expect(await visits('localhost')).toEqual(['1', '2', '3']);
    expect(events.filter((e) => e.type === 'setup_warning')).toEqual([]);
  });

  it('on 127.0.0.1 from this machine, tessera sets none, as express-session (the loopback client gets no warning)', async () => {
    const before = store.size;
    expect(await visits('127.0.0.1')).toEqual(['1', '1', '1']);
    expect(store.size).toBe(before);
    expect(events.filter((e) => e.type === 'setup_warning')).toEqual([]);
  });

  it('on another host, tessera sends no cookie and stores nothing, and says why once', async () => {
    const before = store.size;
    expect(await visits('app.tessera.test')).toEqual(['1', '1', '1']);
    expect(store.size).toBe(before);
    expect(events.filter((e) => e.type === 'setup_warning').map((e) => (e as { reason: string }).reason)).toEqual(['secure_cookie_over_http']);
  });
});
