// tessera/browser on the demo with a 20 s idle timeout, in real Chromium and real time: the
// warning shows 10 s before the idle deadline, "stay signed in" extends the session, and a
// page left alone (its status polled every 5 s) is signed out and says why.
import type { Request } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser } from '../helpers/browser.js';
import { openSignedIn, shot, statusIn, useDemoInChromium } from './demo-in-browser.js';

const IDLE = 20_000;

describeBrowser('the idle-timeout warning (demo, IDLE_TIMEOUT=20s, real time)', () => {
  const demo = useDemoInChromium({ idleTimeout: IDLE });

  it('warns 10 s before the idle deadline, extends on "stay signed in", and signs a page left alone out, saying why', async () => {
    const context = await demo.browser.newContext();
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request: Request) => void requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await openSignedIn(page, demo.running);
    const dialog = page.locator('dialog.tessera-dialog');
    expect(await dialog.count()).toBe(0);

    // The warning: at most 10 s (and more than nothing) before the server's idle deadline.
    await dialog.waitFor({ state: 'visible', timeout: IDLE });
    const atWarning = await statusIn(page);
    expect(atWarning.signedIn).toBe(true);
    const left = atWarning.idleExpiresAt! - atWarning.now;
    expect(left).toBeLessThanOrEqual(10_000);
    expect(left).toBeGreaterThan(0);
    expect(await dialog.textContent()).toMatch(/Your session ends in 0:(10|0\d)\.Stay signed inSign out/);
    await shot(page, 'warning-dialog');

    // "Stay signed in": a keep-alive request, the dialog closes, the deadline moves.
    await page.getByRole('button', { name: 'Stay signed in' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const extended = await statusIn(page);
    expect(extended.signedIn).toBe(true);
    expect(extended.idleExpiresAt!).toBeGreaterThan(atWarning.idleExpiresAt!);
    expect(requests).toContain('POST /session/keep-alive');

    // Left alone: the status is polled every 5 s, and that does not keep the session alive.
    const from = requests.length;
    await page.waitForURL('**/', { waitUntil: 'load', timeout: IDLE + 10_000 });
    await page.locator('#ended').waitFor({ timeout: IDLE + 10_000 });
    const ignored = requests.slice(from);
    expect(ignored.filter((line) => line === 'GET /session/status').length).toBeGreaterThanOrEqual(3);
    expect(ignored).not.toContain('POST /session/keep-alive');
    expect(await page.textContent('#ended')).toBe('You were signed out after 20 seconds without activity.');
    expect(await page.locator('form[data-tessera-signin]').count()).toBe(1);
    expect((await statusIn(page)).signedIn).toBe(false);
    await shot(page, 'reason-idle');
    await context.close();
  }, 90_000);
});
