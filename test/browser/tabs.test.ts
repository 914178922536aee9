// Two tabs of one browser on the demo (IDLE_TIMEOUT=20s), in real Chromium: activity in one
// keeps the other alive, a sign-out in one shows the other signed out within 1 s on a fresh
// sign-in page (never its stale one), over BroadcastChannel and over the storage-event fallback.
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, expect, it } from 'vitest';
import { describeBrowser } from '../helpers/browser.js';
import { openSignedIn, shot, signInWithForm, statusIn, useDemoInChromium } from './demo-in-browser.js';

const IDLE = 20_000;

describeBrowser('tabs in step (demo, IDLE_TIMEOUT=20s)', () => {
  const demo = useDemoInChromium({ idleTimeout: IDLE });
  let context: BrowserContext | undefined;

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  /** Two tabs of one fresh profile, both on the signed-in session page. */
  async function twoSignedInTabs(init?: () => void): Promise<[Page, Page]> {
    context = await demo.browser.newContext();
    if (init !== undefined) await context.addInitScript(init);
    const a = await context.newPage();
    await openSignedIn(a, demo.running);
    const b = await context.newPage();
    await b.goto(demo.running.url('/'));
    expect(await b.textContent('h1')).toContain('Hello, Alice');
    return [a, b];
  }

  /** Sign out in `a`; `b` must show the signed-out page within 1 s of `a` showing it. */
  async function signOutInFirstShowsSecond(a: Page, b: Page): Promise<void> {
    const staleToken = await b.getAttribute('form[data-tessera-signout] input[name=_csrf]', 'value');
    await a.click('form[data-tessera-signout] button[type=submit]');
    await a.locator('#ended').waitFor();
    expect(await a.textContent('#ended')).toBe('You signed out.');
    await b.locator('#ended').waitFor({ timeout: 1_000 });
    expect(await b.textContent('#ended')).toBe('You signed out.');
    // The other tab shows a fresh sign-in page with a token of its own, not a stale form.
    const fresh = await b.getAttribute('form[data-tessera-signin] input[name=_csrf]', 'value');
    expect(fresh).not.toBeNull();
    expect(fresh).not.toBe(staleToken);
  }

  it('keeps the other tab alive on activity in one, and signs it out within 1 s of a sign-out in one', async () => {
    const [a, b] = await twoSignedInTabs();
    const dialogB = b.locator('dialog.tessera-dialog');
    await dialogB.waitFor({ state: 'visible', timeout: IDLE });
    const warned = await statusIn(b);
    expect(warned.idleExpiresAt! - warned.now).toBeLessThanOrEqual(10_000);

    // A key press in the first tab: a keep-alive there, shared with the second, whose warning closes.
    await a.keyboard.press('Shift');
    await dialogB.waitFor({ state: 'hidden', timeout: 2_000 });
    const kept = await statusIn(b);
    expect(kept.signedIn).toBe(true);
    expect(kept.idleExpiresAt!).toBeGreaterThan(warned.idleExpiresAt!);
    expect(await a.locator('dialog.tessera-dialog[open]').count()).toBe(0);

    await signOutInFirstShowsSecond(a, b);
    await shot(b, 'reason-signed-out');

    // Signing in from the second tab's fresh page works, and the first tab's sign-in page
    // (whose form is stale now) follows to the signed-in page by itself.
    await signInWithForm(b);
    await expect.poll(() => a.textContent('h1'), { timeout: 5_000 }).toContain('Hello, Alice');
  }, 60_000);

  it('extends the session on activity at most once per interval, counted across tabs', async () => {
    const [a, b] = await twoSignedInTabs();
    const keepAlives: string[] = [];
    for (const page of [a, b]) {
      page.on('request', (request) => {
        if (request.method() === 'POST' && request.url().endsWith('/session/keep-alive')) keepAlives.push(page === a ? 'a' : 'b');
      });
    }
    // The activity interval is 5 s here: a burst of keys and clicks in both tabs sends one keep-alive.
    for (let i = 0; i < 5; i++) await a.keyboard.press('Shift');
    await expect.poll(() => keepAlives.length).toBe(1);
    await a.mouse.click(5, 5);
    await b.bringToFront();
    await b.keyboard.press('Shift');
    await b.mouse.click(5, 5);
    // Let any request the burst caused be sent before counting.
    await b.evaluate(() => fetch('/session/status').then((res) => res.json()));
    expect(keepAlives).toEqual(['a']);
  }, 60_000);

  it('signs the other tab out within 1 s over storage events where BroadcastChannel is missing', async () => {
    const [a, b] = await twoSignedInTabs(() => {
      delete (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel;
    });
    expect(await b.evaluate(() => typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel)).toBe('undefined');
    await signOutInFirstShowsSecond(a, b);
  }, 60_000);
});
