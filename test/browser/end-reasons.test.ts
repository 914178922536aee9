// Why the session ended, as the demo's pages say it in real Chromium: revoked from a second
// browser context, by an administrator, at the absolute timeout, after a token replay. Plus the
// kit's clock correction and the sign-in page timeout, on clocks the test moves (the server's
// through the demo's `now`, the page's through Playwright's clock).
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeBrowser, launchBrowser } from '../helpers/browser.js';
import { HOUR, MINUTE } from '../helpers/clock.js';
import { openSignedIn, shot, startDemo, type RunningDemo } from './demo-in-browser.js';

/** 40 s idle: the page polls the status every 10 s and warns 20 s before the deadline. */
const IDLE = 40_000;
const POLL = 10_000;

describeBrowser('why the session ended, in the browser', () => {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 120_000);

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function newPage(): Promise<Page> {
    const context = await browser!.newContext();
    contexts.push(context);
    return context.newPage();
  }

  /** The reason the page shows, once it shows one (after its next status check). */
  async function reasonShown(page: Page): Promise<string | null> {
    await page.locator('#ended').waitFor({ timeout: POLL + 5_000 });
    return page.textContent('#ended');
  }

  describe('on the demo with IDLE_TIMEOUT=40s', () => {
    let running: RunningDemo | undefined;

    beforeAll(async () => {
      running = await startDemo({ idleTimeout: IDLE });
    });

    afterAll(async () => {
      await running?.close();
    });

    it('tells a session revoked from a second browser context, at its next status check, that it was signed out on another device', async () => {
      const first = await newPage();
      await openSignedIn(first, running!);
      const second = await newPage();
      await openSignedIn(second, running!);
      await second.click('table.sessions form[action$="/revoke"] button');
      await second.waitForURL('**/');
      expect(await second.textContent('h2 .count')).toBe('1');

      expect(await reasonShown(first)).toBe('You signed out on another device.');
      await shot(first, 'reason-revoked');
    }, 60_000);

    it('tells a session an administrator ended', async () => {
      const page = await newPage();
      await openSignedIn(page, running!);
      expect(await running!.demo.engine.revokeUser('alice')).toBeGreaterThan(0);
      expect(await reasonShown(page)).toBe('An administrator signed you out.');
      await shot(page, 'reason-admin');
    }, 60_000);

    it('warns on time with the browser clock an hour behind the server', async () => {
      const page = await newPage();
      await page.clock.install({ time: Date.now() - HOUR });
      await openSignedIn(page, running!);
      await expect.poll(() => page.evaluate(() => (globalThis as unknown as { tesseraWatcher: { offset: number } }).tesseraWatcher.offset)).toBeGreaterThan(HOUR - MINUTE);
      // 21 s later on both clocks: 19 s before the idle deadline, inside the 20 s warning.
      running!.advance(21_000);
      await page.clock.fastForward(21_000);
      const dialog = page.locator('dialog.tessera-dialog');
      await dialog.waitFor({ state: 'visible', timeout: 5_000 });
      expect(await dialog.textContent()).toMatch(/ends in 0:(19|1\d)\./);
    }, 60_000);

    it('expires the sign-in page: after 10 minutes its form is disabled and the page says to reload', async () => {
      const page = await newPage();
      await page.clock.install();
      await page.goto(running!.url('/'));
      await page.fill('input[name=username]', 'alice');
      await page.fill('input[name=password]', 'alice-demo-password');
      expect(await page.isVisible('#signin-expired')).toBe(false);
      await page.clock.fastForward(10 * MINUTE);
      await page.locator('#signin-expired').waitFor();
      expect(await page.getAttribute('form[data-tessera-signin]', 'data-expired')).toBe('');
      expect(await page.inputValue('input[name=password]')).toBe('');
      expect(await page.isDisabled('form[data-tessera-signin] button[type=submit]')).toBe(true);
      await shot(page, 'signin-expired');
    }, 60_000);
  });

  describe('on the demo with IDLE_TIMEOUT=40s and ABSOLUTE_TIMEOUT=60s', () => {
    let running: RunningDemo | undefined;

    beforeAll(async () => {
      running = await startDemo({ idleTimeout: IDLE, absoluteTimeout: 60_000 });
    });

    afterAll(async () => {
      await running?.close();
    });

    it('tells an active session that reached its absolute timeout', async () => {
      const page = await newPage();
      await openSignedIn(page, running!);
      // Active: a keep-alive 30 s in; then past the absolute deadline, well before the idle one.
      running!.advance(30_000);
      expect(await page.evaluate(async () => (await fetch('/session/keep-alive', { method: 'POST' })).status)).toBe(200);
      running!.advance(31_000);
      expect(await reasonShown(page)).toBe('Your session reached its time limit. Please sign in again.');
      await shot(page, 'reason-absolute');
    }, 60_000);
  });

  describe('on the demo with its default timeouts', () => {
    let running: RunningDemo | undefined;

    beforeAll(async () => {
      running = await startDemo();
    });

    afterAll(async () => {
      await running?.close();
    });

    it('tells both holders of a session whose replaced token was replayed', async () => {
      const victim = await newPage();
      await openSignedIn(victim, running!);
      const stolen = await victim.context().cookies();
      running!.advance(15 * MINUTE);
      await victim.reload(); // the token is due: a new one is handed out
      await victim.reload(); // shown: the rotation completes
      running!.advance(3 * MINUTE); // past the grace window and the clock-skew allowance

      const thief = await newPage();
      await thief.context().addCookies(stolen);
      await thief.goto(running!.url('/'));
      expect(await thief.textContent('#ended')).toContain('used from two places at once');

      await victim.reload();
      expect(await victim.textContent('#ended')).toBe(
        'You were signed out because your session was used from two places at once. If that was not you, change your password.',
      );
      await shot(victim, 'reason-replay');
    }, 60_000);
  });
});
