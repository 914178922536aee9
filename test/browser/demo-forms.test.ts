// The demo's password forms in real Chromium: each has the (hidden) username field browsers ask
// for, so Chromium logs no "[DOM] Password forms should have (optionally hidden) username
// fields" warning on the session page (the password change) or the re-authentication page.
import type { ConsoleMessage } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeBrowser } from '../helpers/browser.js';
import { MINUTE } from '../helpers/clock.js';
import { openSignedIn, useDemoInChromium } from './demo-in-browser.js';

const WARNING = 'Password forms should have';

describeBrowser('the demo password forms in Chromium', () => {
  const demo = useDemoInChromium();

  it('give Chromium no reason to warn about a password form without a username field', async () => {
    const context = await demo.browser.newContext();
    const page = await context.newPage();
    const messages: string[] = [];
    page.on('console', (message: ConsoleMessage) => void messages.push(message.text()));
    await openSignedIn(page, demo.running);
    expect(await page.locator('form[action="/password"] input[autocomplete=username]').getAttribute('value')).toBe('alice');

    // A sign-in older than 10 minutes: the password change asks for the password again.
    demo.running.advance(11 * MINUTE);
    await page.fill('input[name=current]', 'alice-demo-password');
    await page.fill('form[action="/password"] input[name=password]', 'a-brand-new-passphrase');
    await page.fill('input[name=confirm]', 'a-brand-new-passphrase');
    await page.click('form[action="/password"] button[type=submit]');
    await expect.poll(() => page.textContent('h1')).toBe('Confirm it is you');
    expect(await page.locator('form[action="/reauth"] input[autocomplete=username]').count()).toBe(1);

    expect(messages.filter((text) => text.includes(WARNING))).toEqual([]);
    await context.close();
  }, 60_000);
});
