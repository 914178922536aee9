/**
 * `tessera/browser`: the browser side of tessera's sessions, a dependency-free ES module of a
 * few KB. It warns before the idle timeout, lets the user stay signed in, keeps every tab of the
 * site in step (activity in one keeps all alive; a sign-out or expiry in one ends all), expires
 * the sign-in page, and reads why the last session ended.
 *
 * The server side: `app.get('/session/status', sessions.status())` and
 * `app.post('/session/keep-alive', sessions.keepAlive())` (Express), or `engine.status(request)`
 * and `engine.keepAlive(request)` in the core.
 * @example
 * import { watchSession, sessionDialog, endReason } from 'tessera/browser';
 * watchSession({ warnBefore: 60_000, ...sessionDialog(), onExpire: () => location.assign('/'), onSignedOut: () => location.assign('/') });
 * @module
 */
import { page } from './dom.js';
import type { EndReason } from './watch.js';

export { watchSession } from './watch.js';
export type { EndReason, SessionStatus, SessionWatcher, WatchOptions } from './watch.js';
export { sessionDialog, formatRemaining } from './dialog.js';
export type { DialogOptions } from './dialog.js';
export { expireSignInPage } from './signin.js';
export type { SignInPageOptions } from './signin.js';

/** The end-reason cookie's names: over HTTPS, then over HTTP. */
const NAMES = ['__Host-tessera-ended', 'tessera-ended'];
const REASONS: readonly string[] = ['idle', 'absolute', 'revoked', 'admin', 'replay', 'signed_out'];

/**
 * Why the last session of this browser ended, from the short-lived cookie the server set when
 * it ended it (5 min), or `null`. Anything but a known reason reads as `null`.
 */
export function endReason(): EndReason | null {
  for (const pair of page.document.cookie.split(';')) {
    const [name = '', value = ''] = pair.trim().split('=');
    if (NAMES.includes(name) && REASONS.includes(value)) return value as EndReason;
  }
  return null;
}

/** Forget the end reason (once the page has shown it), so a reload does not show it again. */
export function clearEndReason(): void {
  for (const name of NAMES) page.document.cookie = `${name}=; Path=/; Max-Age=0; SameSite=Lax${name[0] === '_' ? '; Secure' : ''}`;
}
