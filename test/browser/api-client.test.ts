// The demo's API page (demo/public/api.html) in real Chromium: tessera/client signs in to /api
// for a token pair, calls /api/me with the access token (no cookie involved), refreshes once the
// server's clock has passed the access token's lifetime, and signs out, after which the refresh
// token is dead on the server too. No console error and no CSP violation on the way.
import type { ConsoleMessage } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser } from '../helpers/browser.js';
import { MINUTE } from '../helpers/clock.js';
import { useDemoInChromium } from './demo-in-browser.js';

describeBrowser('the demo API page in Chromium', () => {
  const demo = useDemoInChromium();

  it('signs in with tokens, calls the API, refreshes after the access token expired, and signs out', async () => {
    const context = await demo.browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    // Chromium logs every 4xx response as a console error: the expected 401 of the expired token is not one of ours.
    page.on('console', (message: ConsoleMessage) => void (message.type() === 'error' && !message.text().includes('status of 401') && errors.push(message.text())));
    page.on('pageerror', (error) => void errors.push(error.message));
    const refreshes: number[] = [];
    page.on('response', (response) => void (response.url().endsWith('/api/token/refresh') && refreshes.push(response.status())));

    await page.goto(demo.running.url('/api.html'));
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'alice-demo-password');
    await page.click('#api-signin button[type=submit]');
    await expect.poll(() => page.textContent('#api-output')).toBe('Signed in to the API.');
    // Tokens, not cookies: the browser holds no cookie for the API sign-in.
    expect(await context.cookies()).toEqual([]);
    const [family] = await demo.running.demo.engine.listUserSessions('alice');
    expect(family).toMatchObject({ kind: 'tokens', device: 'API page in a browser' });

    await page.click('#api-me');
    await expect.poll(() => page.textContent('#api-output')).toContain('"id": "alice"');
    expect(refreshes).toEqual([]);

    // The server's clock passes the 15-minute access token: the call gets a 401, the client
    // refreshes once and retries it.
    demo.running.advance(16 * MINUTE);
    await page.evaluate("document.getElementById('api-output').textContent = ''");
    await page.click('#api-me');
    await expect.poll(() => page.textContent('#api-output')).toContain('"id": "alice"');
    expect(refreshes).toEqual([200]);

    await page.click('#api-signout');
    await expect.poll(() => page.textContent('#api-output')).toBe('Signed out of the API.');
    await expect.poll(async () => (await demo.running.demo.engine.listUserSessions('alice')).length).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
