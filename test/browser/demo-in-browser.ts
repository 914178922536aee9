/**
 * The demo app (`demo/app.ts`) on a loopback server for the browser tests of tessera/browser, on
 * a server clock the test can move (`skew`), with screenshots written under /tmp, out of the
 * repository.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { createApp, type DemoApp } from '../../demo/app.js';
import type { DemoTimings } from '../../demo/config.js';
import { launchBrowser, serve, type TestServer } from '../helpers/browser.js';

/** Where screenshots go: never the repository. */
export const SHOTS = process.env['TESSERA_SHOTS'] ?? join(tmpdir(), 'tessera-screens');

/** A running demo. */
export interface RunningDemo {
  demo: DemoApp;
  server: TestServer;
  /** `http://localhost:<port><path>`. */
  url(path?: string): string;
  /** Move the server's clock forward by `ms` (the browser's clock is the page's own). */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** Start the demo with these timings, on its own SQLite file. */
export async function startDemo(timings: DemoTimings = {}): Promise<RunningDemo> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-browser-'));
  let skew = 0;
  const demo = await createApp({
    secret: 'a-browser-test-secret-that-is-long-enough-for-hmac',
    database: join(dir, 'sessions.db'),
    logger: pino({ enabled: false }),
    now: () => Date.now() + skew,
    timings,
  });
  const server = await serve(demo.app);
  return {
    demo,
    server,
    url: (path = '/') => server.url('localhost', path),
    advance: (ms) => void (skew += ms),
    async close() {
      await server.close();
      await demo.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The demo and a Chromium for the tests of one describe block. */
export interface DemoInChromium {
  /** The browser (read it inside a test: it is launched before the first). */
  readonly browser: Browser;
  /** The running demo (likewise). */
  readonly running: RunningDemo;
}

/** Start the demo (with these timings) and Chromium before the block's tests, and close both after. */
export function useDemoInChromium(timings: DemoTimings = {}): DemoInChromium {
  let browser: Browser | undefined;
  let running: RunningDemo | undefined;
  beforeAll(async () => {
    running = await startDemo(timings);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });
  return {
    get browser() {
      return browser!;
    },
    get running() {
      return running!;
    },
  };
}

/** Sign in through the form on the sign-in page (the page must show it). */
export async function signInWithForm(page: Page, username = 'alice', password = 'alice-demo-password'): Promise<void> {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL('**/'), page.click('form[data-tessera-signin] button[type=submit]')]);
  await expect.poll(() => page.textContent('h1')).toContain('Hello');
}

/** Open the demo in `page` and sign in. */
export async function openSignedIn(page: Page, running: RunningDemo, username?: string, password?: string): Promise<void> {
  await page.goto(running.url('/'));
  await signInWithForm(page, username, password);
}

/** A full-page PNG under {@link SHOTS}. @returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The session's status as the page's own fetch sees it (a status request: not activity). */
export async function statusIn(page: Page): Promise<PageStatus> {
  return (await page.evaluate(async () => (await fetch('/session/status')).json())) as PageStatus;
}

/** The status endpoint's answer. */
export interface PageStatus {
  signedIn: boolean;
  now: number;
  idleExpiresAt: number | null;
  endReason: string | null;
}
