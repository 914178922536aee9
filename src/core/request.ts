/**
 * What the core knows about a request: the facts an adapter reads off its framework's request.
 * @module
 */
import type { SessionMeta } from '../store/types.js';
import type { ResolvedCookieOptions } from './cookie.js';
import type { Transport } from './transport.js';

/** What the engine needs to know about a request. Adapters fill it in. */
export interface RequestInfo {
  /** The raw `Cookie` header(s). */
  cookie: string | readonly string[] | undefined;
  /** Whether the request came over HTTPS (as decided by the adapter and its proxy settings). */
  secure: boolean;
  /** Client IP address. */
  ip?: string | undefined;
  /** `User-Agent` header. */
  userAgent?: string | undefined;
  /** HTTP method. */
  method?: string | undefined;
  /** URL path without the query string. */
  path?: string | undefined;
  /**
   * Cookie attributes for this request, when an adapter resolves them per request
   * (express-session's `cookie` as a function, `sameSite: 'auto'`); already checked, and with
   * the engine's cookie name. Absent: the engine's `cookie` options.
   */
  cookieOptions?: ResolvedCookieOptions | undefined;
  /**
   * The request came over plain HTTP to a host browsers treat as secure anyway (`localhost`
   * and `*.localhost`), so a `Secure` cookie set on it is kept. Adapters set it from the
   * `Host` header.
   */
  localhost?: boolean | undefined;
  /**
   * Every value of the engine's token header (`tokenHeader`, `authorization` by default), one
   * per occurrence as it came (Node keeps only the first `Authorization` in `req.headers`:
   * read `req.rawHeaders`), so a duplicated header is refused. Read only when the transport
   * is `'header'` or `'both'`; adapters that leave it out support the cookie transport only.
   */
  tokenHeader?: string | readonly string[] | undefined;
  /** This route's transport, when the adapter lets routes choose (see `transport`). Absent: the engine's. */
  transport?: Transport | undefined;
}

/** The cookie attributes that apply to a request. */
export function cookieOptionsOf(defaults: ResolvedCookieOptions, request: RequestInfo): ResolvedCookieOptions {
  return request.cookieOptions ?? defaults;
}

/**
 * Whether a cookie set on this response can reach the client: a `Secure` cookie on a request
 * that came over plain HTTP is dropped by browsers (but on `http://localhost`), so it is neither
 * sent nor relied on, as express-session does.
 */
export function cookieDeliverable(options: ResolvedCookieOptions, request: RequestInfo): boolean {
  return options.secure !== true || request.secure || request.localhost === true;
}

/**
 * Whether a `Host` header names `localhost` or a `*.localhost` host (any port): the one case of
 * plain HTTP where tessera sets a `Secure` cookie, since browsers keep it there. (They keep it
 * on `127.0.0.1` and `[::1]` too; tessera treats those as plain HTTP, as express-session does.)
 */
export function isLocalhostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Whether a `Host` header names a loopback host: `localhost`, `*.localhost`, `127.x.x.x` or `[::1]` (any port). */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.toLowerCase().replace(/:\d+$/, '');
  return isLocalhostHeader(name) || name === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** Whether a socket's remote address is a loopback address (`127.x.x.x`, `::1`, `::ffff:127.x.x.x`). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || /^(?:::ffff:)?127\./.test(address);
}

/** The longest user agent kept with a session, in characters. */
const MAX_USER_AGENT = 256;
/** The longest IP address kept with a session, in characters. */
const MAX_IP = 64;

/** Device metadata of a request, bounded in size. */
export function metaOf(request: RequestInfo): SessionMeta {
  const meta: SessionMeta = {};
  if (typeof request.userAgent === 'string') meta.userAgent = request.userAgent.slice(0, MAX_USER_AGENT);
  if (typeof request.ip === 'string') meta.ip = request.ip.slice(0, MAX_IP);
  return meta;
}
