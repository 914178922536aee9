// The browser harness itself: Chromium starts, reaches a loopback server under *.tessera.test
// names, keeps and sends cookies, and lets a sibling host toss a Domain=tessera.test cookie to
// app.tessera.test (the precondition of the cookie-tossing security test).
import { stat } from 'node:fs/promises';
import express from 'express';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  TESSERA_TEST_HOSTS,
  describeBrowser,
  documentCookie,
  launchBrowser,
  screenshot,
  serve,
  setDocumentCookie,
  type TestServer,
} from '../helpers/browser.js';

/** What `GET /echo` answers: the Cookie header the server received. */
interface Echo {
  cookie: string | null;
}

function probeApp(): express.Express {
  const app = express();
  app.get('/set', (_req, res) => {
    res.setHeader('Set-Cookie', 'probe=1; Path=/; HttpOnly');
    res.type('html').send('<!doctype html><title>set</title><p>probe cookie set</p>');
  });
  app.get('/echo', (req, res) => {
    const echo: Echo = { cookie: req.headers.cookie ?? null };
    res.json(echo);
  });
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>tessera test</title><p>hello</p>');
  });
  return app;
}

describeBrowser('browser harness (Chromium, *.tessera.test on loopback)', () => {
  let browser: Browser | undefined;
  let server: TestServer | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    server = await serve(probeApp());
    browser = await launchBrowser({ hostResolverRules: TESSERA_TEST_HOSTS });
  }, 120_000);

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A fresh profile (empty cookie jar) for one test. */
  async function freshContext(): Promise<BrowserContext> {
    if (browser === undefined) throw new Error('the browser did not start');
    context = await browser.newContext();
    return context;
  }

  async function echoAt(ctx: BrowserContext, host: string): Promise<Echo> {
    const page = await ctx.newPage();
    const response = await page.goto(server!.url(host, '/echo'));
    expect(response?.status()).toBe(200);
    return (await response!.json()) as Echo;
  }

  it('keeps an HttpOnly cookie the server set and sends it back', async () => {
    const ctx = await freshContext();
    const page = await ctx.newPage();
    const set = await page.goto(server!.url('app.tessera.test', '/set'));
    expect(set?.status()).toBe(200);
    expect(await page.textContent('p')).toBe('probe cookie set');
    // HttpOnly: the page's script does not see it.
    expect(await documentCookie(page)).toBe('');

    expect((await echoAt(ctx, 'app.tessera.test')).cookie).toBe('probe=1');
  }, 60_000);

  it('lets a sibling host set a Domain=tessera.test cookie that app.tessera.test then receives', async () => {
    const ctx = await freshContext();
    const evil = await ctx.newPage();
    await evil.goto(server!.url('evil.tessera.test', '/'));
    expect(await setDocumentCookie(evil, 'tossed=evil; Domain=tessera.test; Path=/')).toBe('tossed=evil');
    expect(await ctx.cookies(server!.url('app.tessera.test', '/'))).toEqual([
      expect.objectContaining({ name: 'tossed', value: 'evil', domain: '.tessera.test', path: '/' }),
    ]);

    const echo = await echoAt(ctx, 'app.tessera.test');
    expect(echo.cookie?.split('; ')).toContain('tossed=evil');
  }, 60_000);

  it('writes screenshots under test-results/', async () => {
    const ctx = await freshContext();
    const page = await ctx.newPage();
    await page.goto(server!.url('app.tessera.test', '/'));
    const path = await screenshot(page, 'harness/hello page');
    expect(path).toMatch(/[/\\]test-results[/\\]screenshots[/\\]harness_hello_page\.png$/);
    expect((await stat(path)).size).toBeGreaterThan(0);
  }, 60_000);
});
