/**
 * `tessera/next`: sessions for Next.js (App Router) on the Node.js runtime, on `tessera/web`.
 *
 * - Route handlers and middleware: `sessions.route(handler)` loads the session from the
 *   `Request` and puts its headers (`Set-Cookie`, `Cache-Control: no-store`,
 *   `Clear-Site-Data`) on the `Response` the handler returns. Middleware must run on the
 *   Node.js runtime (`export const config = { runtime: 'nodejs' }`, Next.js 15.5+).
 * - Server actions and server components: `sessions.action(fn)` reads the cookie through
 *   `cookies()` from `next/headers` and writes the new one through it. An action cannot set
 *   other response headers, so `Clear-Site-Data` is not sent from one (sign users out in a
 *   route handler to get it). A server component can read its session but not change it:
 *   Next.js refuses cookie writes while rendering.
 * - The Edge runtime has no `node:crypto` (`createHmac`, `randomBytes`, `hkdfSync`,
 *   `timingSafeEqual`), which tessera needs: it does not run there.
 *
 * `next` is not imported here: pass `cookies` and `headers` from `next/headers`, so this module
 * works with any Next.js version that has them (14 and later) and needs none installed to load.
 *
 * ```ts
 * // lib/sessions.ts
 * import { cookies, headers } from 'next/headers';
 * export const sessions = nextSessions({ secret: process.env.SESSION_SECRET!, store, cookies, headers });
 * // app/api/me/route.ts
 * export const GET = sessions.route(async (request, session) => Response.json({ user: session.userId }));
 * ```
 * @module
 */
import { createSessions, type Engine } from '../../core/engine.js';
import { TesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';
import { webSessionsOf, type SessionHandler, type WebSessionOptions, type WebSessions, type WithSessionOptions } from '../web/index.js';

/** What tessera uses of the cookie store `cookies()` from `next/headers` returns. */
export interface NextCookieStore {
  /** All cookies of the request. */
  getAll(): Array<{ name: string; value: string }>;
  /** Set a cookie on the response (server actions and route handlers only). */
  set(cookie: NextCookie): unknown;
}

/** A cookie as Next.js's `cookies().set()` takes it. */
export interface NextCookie {
  name: string;
  value: string;
  path?: string;
  domain?: string;
  /** Lifetime in seconds. */
  maxAge?: number;
  expires?: Date;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
}

/** What tessera reads of the request headers `headers()` from `next/headers` returns. */
export interface NextHeaders {
  get(name: string): string | null;
}

/** Options of {@link nextSessions}: `tessera/web`'s, plus the `next/headers` functions. */
export interface NextSessionOptions extends WebSessionOptions {
  /** `cookies` from `next/headers` (sync in Next.js 14, async from 15: both work). */
  cookies?: () => NextCookieStore | Promise<NextCookieStore>;
  /** `headers` from `next/headers` (sync in Next.js 14, async from 15: both work). */
  headers?: () => NextHeaders | Promise<NextHeaders>;
}

/** What {@link nextSessions} returns. */
export interface NextSessions {
  /** The engine, for admin calls (`listUserSessions`, `revokeUser`) and `close()`. */
  readonly engine: Engine;
  /** The `tessera/web` sessions underneath (`load(request)`, `csrf(...)`). */
  readonly web: WebSessions;
  /**
   * Wrap a route handler or a middleware function (Node.js runtime): the session is loaded
   * before it and committed on the `Response` it returns. A store failure is thrown to
   * Next.js's error handling unless `options.onError` answers it.
   */
  route<A extends unknown[]>(handler: SessionHandler<A>, options?: WithSessionOptions<A>): (request: Request, ...rest: A) => Promise<Response>;
  /**
   * Run `fn` with the session of the current request, in a server action: the session is read
   * through `cookies()`, and its cookie written through it when `fn` returns.
   * @throws TesseraError `INVALID_OPTION` when `cookies` and `headers` were not given;
   * `STORE_UNAVAILABLE` when the store fails.
   */
  action<T>(fn: (session: RequestSession) => T | Promise<T>): Promise<T>;
}

/**
 * Create sessions for a Next.js app.
 * @throws TesseraError `INVALID_OPTION` for a short secret, unsafe cookie settings or bad durations.
 */
export function nextSessions(options: NextSessionOptions): NextSessions {
  const { trustProxy, cookies, headers, ...core } = options;
  const engine = createSessions(core);
  const web = webSessionsOf(engine, { ...(trustProxy !== undefined && { trustProxy }) });
  return {
    engine,
    web,
    route: (handler, routeOptions) => web.withSession(handler, routeOptions),
    async action(fn) {
      if (cookies === undefined || headers === undefined) {
        throw new TesseraError('INVALID_OPTION', 'nextSessions: pass cookies and headers from next/headers to use action()');
      }
      const [jar, incoming] = await Promise.all([cookies(), headers()]);
      const ws = await web.load(requestOf(jar, incoming, trustProxy === true));
      const result = await fn(ws.session);
      for (const [name, value] of await ws.headers()) {
        if (name === 'Set-Cookie') jar.set(parseSetCookie(value));
      }
      return result;
    },
  };
}

/** A `Request` standing for the current one, from what `next/headers` tells of it. */
function requestOf(jar: NextCookieStore, incoming: NextHeaders, trustProxy: boolean): Request {
  const host = incoming.get('host') ?? 'localhost';
  const proto = trustProxy ? (incoming.get('x-forwarded-proto')?.split(',')[0]?.trim() ?? 'http') : 'http';
  const cookie = jar
    .getAll()
    .map(({ name, value }) => `${name}=${encodeURIComponent(value)}`)
    .join('; ');
  const init: Record<string, string> = { cookie, host };
  for (const name of ['user-agent', 'x-forwarded-for', 'x-forwarded-proto', 'origin', 'sec-fetch-site']) {
    const value = incoming.get(name);
    if (value !== null) init[name] = value;
  }
  const url = `${proto === 'https' ? 'https' : 'http'}://${/^[A-Za-z0-9.:[\]-]+$/.test(host) ? host : 'localhost'}/`;
  return new Request(url, { method: 'POST', headers: init });
}

/** A `Set-Cookie` line as the object `cookies().set()` takes. */
export function parseSetCookie(line: string): NextCookie {
  const [pair = '', ...attributes] = line.split(';');
  const eq = pair.indexOf('=');
  const cookie: NextCookie = { name: pair.slice(0, eq).trim(), value: safeDecode(pair.slice(eq + 1).trim()) };
  for (const attribute of attributes) {
    const [rawKey = '', ...rest] = attribute.split('=');
    const key = rawKey.trim().toLowerCase();
    const value = rest.join('=').trim();
    if (key === 'path') cookie.path = value;
    else if (key === 'domain') cookie.domain = value;
    else if (key === 'max-age') cookie.maxAge = Number(value);
    else if (key === 'expires') cookie.expires = new Date(value);
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'partitioned') cookie.partitioned = true;
    else if (key === 'samesite') cookie.sameSite = value.toLowerCase() as NextCookie['sameSite'] & string;
    else if (key === 'priority') cookie.priority = value.toLowerCase() as NextCookie['priority'] & string;
  }
  return cookie;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
