// What the sign-out's Clear-Site-Data reaches, in real Chromium, with two apps on localhost
// (another port is another origin, but the same registrable domain for cookies): the default
// ('"cache", "storage"') clears this app's storage and leaves the other app's cookie and storage
// alone; the full form ('"cache", "cookies", "storage"', still an option) deletes the other
// app's cookie too. http://localhost is a secure context, so Chromium applies the header there.
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { MemoryStore } from '../../src/store/memory.js';
import { describeBrowser, launchBrowser, serve, type TestServer } from '../helpers/browser.js';

const SECRET = 'clear-site-data-test-secret-0123456789-abc';

/** An app on tessera/express: GET /in signs in, GET /out signs out (test routes, not a real app's). */
function tesseraApp(clearSiteData?: string): express.Express {
  const app = express();
  const sessions = session({ secret: SECRET, name: 'sid', store: new MemoryStore({ sweepIntervalMs: 0 }), ...(clearSiteData !== undefined && { clearSiteData }) });
  app.use(sessions);
  app.get('/in', async (req, res) => {
    await req.tessera.signIn('alice');
    res.type('html').send('<!doctype html><title>in</title><p>signed in</p>');
  });
  app.get('/out', async (req, res) => {
    await req.tessera.signOut();
    res.type('html').send('<!doctype html><title>out</title><p>signed out</p>');
  });
  app.get('/', (_req, res) => void res.type('html').send('<!doctype html><title>app</title><p>app</p>'));
  return app;
}

/** Someone else's app on another port of localhost: a cookie of its own and its own storage. */
function otherApp(): express.Express {
  const app = express();
  app.get('/', (_req, res) => {
    res.setHeader('Set-Cookie', 'theirs=1; Path=/; Max-Age=3600');
    res.type('html').send('<!doctype html><title>other</title><p>other app</p>');
  });
  return app;
}

/** The part of a page's globals these tests use (the tests compile without the DOM lib). */
interface PageStorage {
  localStorage: { setItem(key: string, value: string): void; getItem(key: string): string | null };
}

interface Outcome {
  otherCookie: boolean;
  otherStorage: string | null;
  ownStorage: string | null;
  ownSessionCookie: boolean;
  header: string | null;
}

describeBrowser('Clear-Site-Data on sign-out (two apps on localhost)', () => {
  let browser: Browser | undefined;
  let other: TestServer | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    other = await serve(otherApp());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await other?.close();
  });

  /** Visit the other app and ours, sign in and out of ours, and see what is left. */
  async function signOutWith(clearSiteData?: string): Promise<Outcome> {
    const ours = await serve(tesseraApp(clearSiteData));
    const context = await browser!.newContext();
    try {
      const theirs = await context.newPage();
      await theirs.goto(other!.url('localhost', '/'));
      await theirs.evaluate(() => (globalThis as unknown as PageStorage).localStorage.setItem('draft', 'theirs'));
      const page = await context.newPage();
      await page.goto(ours.url('localhost', '/in'));
      await page.evaluate(() => (globalThis as unknown as PageStorage).localStorage.setItem('draft', 'ours'));
      const out = await page.goto(ours.url('localhost', '/out'));
      const header = (await out!.allHeaders())['clear-site-data'] ?? null;
      const cookies = await context.cookies();
      const read = (): string | null => (globalThis as unknown as PageStorage).localStorage.getItem('draft');
      await theirs.reload();
      return {
        otherCookie: cookies.some((c) => c.name === 'theirs'),
        otherStorage: await theirs.evaluate(read),
        ownStorage: await page.evaluate(read),
        ownSessionCookie: cookies.some((c) => c.name === 'sid'),
        header,
      };
    } finally {
      await context.close();
      await ours.close();
    }
  }

  it("by default clears this app's storage and leaves the other app's cookie and storage alone", async () => {
    expect(await signOutWith()).toEqual({ otherCookie: true, otherStorage: 'theirs', ownStorage: null, ownSessionCookie: false, header: '"cache", "storage"' });
  }, 60_000);

  it("with the full form (an option) also deletes the other app's cookie, as \"cookies\" reaches the whole registrable domain", async () => {
    const outcome = await signOutWith('"cache", "cookies", "storage"');
    expect(outcome).toEqual({ otherCookie: false, otherStorage: 'theirs', ownStorage: null, ownSessionCookie: false, header: '"cache", "cookies", "storage"' });
  }, 60_000);
});
