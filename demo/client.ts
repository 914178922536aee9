/**
 * The browser side of the demo: `tessera/browser` built for the page, the timings its script
 * reads from the page, and what the sign-in page says about the last session.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Engine } from '../src/index.js';
import { spokenDuration } from './config.js';

/** Why a session ended, as `engine.endReason()` and `req.tessera.endReason` give it. */
type EndReason = ReturnType<Engine['endReason']>;

/** What `public/session.js` reads from `<body data-...>` (ms). */
export interface ClientTimings {
  /** The warning shows this long before the idle deadline: 60 s, or half the idle timeout if that is shorter. */
  warnBefore: number;
  /** How often the page asks for the status (a quarter of the idle timeout, 2 s to 60 s). */
  poll: number;
  /** Activity extends the session at most once per this (the session's touch interval). */
  activity: number;
  /** The sign-in page's form expires after this. */
  signInTimeout: number;
}

/** The client timings for an idle timeout and a sign-in page timeout (ms). */
export function clientTimings(idleTimeout: number, signInTimeout: number): ClientTimings {
  return {
    warnBefore: Math.min(60_000, Math.floor(idleTimeout / 2)),
    poll: Math.min(60_000, Math.max(2_000, Math.floor(idleTimeout / 4))),
    activity: Math.min(60_000, Math.floor(idleTimeout / 4)),
    signInTimeout,
  };
}

/** `tessera/browser` as one minified ES module, built from `src/browser` (the package ships it as `tessera/browser`). */
export function browserKit(): Promise<string> {
  return bundle('../src/browser/index.ts');
}

/** `tessera/client` (the token client) as one minified ES module, for the page `/api.html`. */
export function tokenClientKit(): Promise<string> {
  return bundle('../src/tokens/client.ts');
}

/** One source file of the package and what it imports, as a minified ES module. */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    format: 'esm',
    minify: true,
    write: false,
    target: 'es2020',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** What the sign-in page says about why the last session ended, or `undefined`. */
export function endMessage(reason: EndReason, idleTimeout: number): string | undefined {
  switch (reason) {
    case 'idle':
      return `You were signed out after ${spokenDuration(idleTimeout)} without activity.`;
    case 'absolute':
      return 'Your session reached its time limit. Please sign in again.';
    case 'revoked':
      return 'You signed out on another device.';
    case 'admin':
      return 'An administrator signed you out.';
    case 'replay':
      return 'You were signed out because your session was used from two places at once. If that was not you, change your password.';
    case 'signed_out':
      return 'You signed out.';
    default:
      return undefined;
  }
}
