/**
 * Shared helpers of the express-session compatibility and migration tests: an Express 5 app
 * with `tessera/express` mounted, Set-Cookie parsing, and small store spies.
 */
import { parseSignedValue } from '../helpers/cookies.js';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Response as TestResponse } from 'supertest';
import session, {
  type ExpressSessionOptions,
  type SessionMiddleware,
  type SessionObject,
} from '../../src/adapters/express/index.js';

/** A secret long enough for tessera (at least 32 bytes). */
export const SECRET = 'tessera-test-secret-0123456789-abcdefghijklmnop';
/** A second strong secret, for rotation. */
export const SECRET_2 = 'tessera-second-secret-9876543210-zyxwvutsrqpon';
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A route handler, sync or async. */
export type Handler = (req: Request, res: Response, next: NextFunction) => unknown;

/** `req.session` seen through tessera's type (data keys plus the express-session methods). */
export function sess(req: Request): SessionObject {
  return (req as unknown as { session: SessionObject }).session;
}

/** `req.session` may be gone (after `destroy()` or `req.session = null`). */
export function maybeSession(req: Request): SessionObject | null | undefined {
  return (req as unknown as { session?: SessionObject | null }).session;
}

/** Assign `req.session` as an app would (`req.session = null`). */
export function setSession(req: Request, value: unknown): void {
  (req as unknown as { session: unknown }).session = value;
}

/** `req.sessionID`. */
export function sessionId(req: Request): string {
  return (req as unknown as { sessionID: string }).sessionID;
}

/** `req.sessionStore`. */
export function sessionStore(req: Request): unknown {
  return (req as unknown as { sessionStore: unknown }).sessionStore;
}

export interface AppParts {
  app: Express;
  middleware: SessionMiddleware;
}

/**
 * An Express 5 app: `setup` (if any), the session middleware, `handler` (default: an empty 200),
 * and an error handler that answers `err.status` (or 500) with `err.code ?? err.message`.
 */
export function createApp(options: Partial<ExpressSessionOptions> = {}, handler?: Handler, setup?: Handler): AppParts {
  const app = express();
  if (setup) app.use(setup);
  const middleware = session({ secret: SECRET, ...options });
  app.use(middleware);
  app.use(async (req, res, next) => {
    if (handler === undefined) {
      res.end();
      return;
    }
    try {
      await handler(req, res, next);
    } catch (error) {
      next(error);
    }
  });
  app.use(errorHandler);
  return { app, middleware };
}

/** Answers the error's status and its code (or message) as text. */
export function errorHandler(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const e = error as { status?: number; code?: string; message?: string };
  res.status(typeof e.status === 'number' ? e.status : 500).type('text').send(e.code ?? e.message ?? 'error');
}

/** One parsed `Set-Cookie` header. Attribute names are lower-cased; flags are `true`. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Every `Set-Cookie` header of a response, parsed. */
export function setCookies(res: TestResponse): SetCookie[] {
  const raw = res.get('Set-Cookie') ?? [];
  return raw.map((header) => {
    const [pair = '', ...attrs] = header.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      if (i === -1) attributes[attr.toLowerCase()] = true;
      else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  });
}

/** The `Set-Cookie` of the session cookie, or `undefined`. */
export function sessionCookie(res: TestResponse, name = 'connect.sid'): SetCookie | undefined {
  return setCookies(res).find((c) => c.name === name);
}

/** The `Cookie` request header that sends back the session cookie a response set. */
export function cookieOf(res: TestResponse, name = 'connect.sid'): string {
  const found = sessionCookie(res, name);
  if (found === undefined || found.value === '') throw new Error(`response did not set the ${name} cookie`);
  return `${found.name}=${found.value}`;
}

/** Whether the session cookie of a response deletes the cookie in the browser. */
export function isClearing(cookie: SetCookie | undefined): boolean {
  if (cookie === undefined) return false;
  const expires = cookie.attributes['expires'];
  return cookie.value === '' && (cookie.attributes['max-age'] === '0' || (typeof expires === 'string' && Date.parse(expires) <= 0));
}

/** Lifetime a persistent cookie was given, from its `Max-Age` attribute, in seconds. */
export function maxAgeOf(cookie: SetCookie | undefined): number | undefined {
  const value = cookie?.attributes['max-age'];
  return typeof value === 'string' ? Number(value) : undefined;
}

/** The token inside a tessera cookie value `s:<sid>.<token>.<keyId>.<signature>`. */
export function tokenOf(cookieValue: string): string {
  return parseSignedValue(cookieValue).token;
}

/** The store key of the session a cookie value names: its session id, as tessera documents it. */
export { storeKeyOfValue } from '../helpers/cookies.js';

/**
 * The tessera cookie value shape, as sent (percent-encoded like express-session's):
 * `s%3A` + 22-character id + 43-character token + key id + signature (standard base64).
 */
export const TESSERA_VALUE = /^s%3A[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{1,16}\.(?:[A-Za-z0-9]|%2B|%2F){43}$/;

/** Count the calls of one method of an object (the original still runs). */
export function countCalls<T extends object>(target: T, method: keyof T & string): { readonly count: number; reset(): void } {
  const original = target[method] as unknown as (...args: unknown[]) => unknown;
  let count = 0;
  (target as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
  };
}

/** A promise of a Node-style callback call. */
export function callback<T>(run: (done: (error?: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(value)));
  });
}

/** A settable clock for timeout tests. */
export function fakeClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
  };
}
