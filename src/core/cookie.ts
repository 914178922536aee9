/**
 * The session cookie: options with secure defaults, defensive reading, serialising.
 *
 * Defaults follow OWASP's Session Management Cheat Sheet and RFC 6265bis: `__Host-sid`,
 * `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`, no `Max-Age` (a browser-session
 * cookie). `HttpOnly` has no switch: session cookies are never readable by scripts.
 * @module
 */
import { serialize } from 'cookie';
import { TesseraError } from './errors.js';

/** Cookie options. Every field is optional; defaults are secure. */
export interface CookieOptions {
  /**
   * Cookie name.
   * @default '__Host-sid' when `secure` is `true`, `'sid'` otherwise.
   */
  name?: string;
  /**
   * `true` sets `Secure` always; `'auto'` sets it when the request came over HTTPS (see
   * `trustProxy`); `false` never (refused under `NODE_ENV=production` unless
   * `allowInsecureCookie` is set).
   * @default true
   */
  secure?: boolean | 'auto';
  /** The `SameSite` attribute. `'none'` requires `secure: true`. @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none';
  /** The `Path` attribute. Must be `'/'` for a `__Host-` name. @default '/' */
  path?: string;
  /** The `Domain` attribute. Forbidden for a `__Host-` name. @default undefined (host-only) */
  domain?: string;
  /**
   * Lifetime of a persistent cookie in milliseconds (`Max-Age`), or `null` for a cookie the
   * browser drops when it closes. The server-side timeouts apply either way.
   * @default null
   */
  maxAge?: number | null;
  /** The `Partitioned` attribute (CHIPS); requires `secure: true`. @default false */
  partitioned?: boolean;
  /** The `Priority` attribute (Chromium). @default undefined */
  priority?: 'low' | 'medium' | 'high';
}

/** Cookie options after defaults and checks. */
export interface ResolvedCookieOptions {
  name: string;
  secure: boolean | 'auto';
  sameSite: 'lax' | 'strict' | 'none';
  path: string;
  domain: string | undefined;
  maxAge: number | null;
  partitioned: boolean;
  priority: 'low' | 'medium' | 'high' | undefined;
}

// RFC 6265 §4.1.1 cookie-name is an HTTP token.
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Apply defaults and refuse unsafe or contradictory combinations. */
export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const secure = options.secure ?? true;
  const name = options.name ?? (secure === true ? '__Host-sid' : 'sid');
  const resolved: ResolvedCookieOptions = {
    name,
    secure,
    sameSite: options.sameSite ?? 'lax',
    path: options.path ?? '/',
    domain: options.domain,
    maxAge: options.maxAge ?? null,
    partitioned: options.partitioned ?? false,
    priority: options.priority,
  };
  const fail = (message: string): never => {
    throw new TesseraError('INVALID_OPTION', `cookie: ${message}`);
  };
  if (!TOKEN_NAME.test(name)) fail(`name ${JSON.stringify(name)} is not a valid cookie name`);
  if (!['lax', 'strict', 'none'].includes(resolved.sameSite)) fail(`sameSite must be 'lax', 'strict' or 'none'`);
  if (secure !== true && secure !== false && secure !== 'auto') fail(`secure must be true, false or 'auto'`);
  if (!resolved.path.startsWith('/')) fail('path must start with "/"');
  if (resolved.maxAge !== null && !(Number.isFinite(resolved.maxAge) && resolved.maxAge > 0)) {
    fail('maxAge must be a positive number of milliseconds or null');
  }
  // RFC 6265bis §4.1.3.2: __Host- requires Secure, Path=/ and no Domain.
  if (name.startsWith('__Host-')) {
    if (secure !== true) fail('a __Host- cookie requires secure: true');
    if (resolved.path !== '/') fail('a __Host- cookie requires path: "/"');
    if (resolved.domain !== undefined) fail('a __Host- cookie must not have a domain');
  }
  // RFC 6265bis §4.1.3.1: __Secure- requires Secure.
  if (name.startsWith('__Secure-') && secure !== true) fail('a __Secure- cookie requires secure: true');
  // RFC 6265bis §4.1.2.7: browsers drop SameSite=None without Secure.
  if (resolved.sameSite === 'none' && secure !== true) fail("sameSite: 'none' requires secure: true");
  if (resolved.partitioned && secure !== true) fail('partitioned requires secure: true');
  return resolved;
}

/** What {@link readCookie} found in a `Cookie` header. */
export type CookieLookup =
  | { kind: 'absent' }
  | { kind: 'present'; value: string }
  | { kind: 'invalid'; reason: 'duplicate' | 'oversized' | 'malformed' };

/** Header sizes above this are not scanned (Node's own default limit for all headers is 16 KiB). */
const MAX_HEADER_LENGTH = 16 * 1024;

/**
 * Find the session cookie in a `Cookie` header. Never throws. A name that appears more than
 * once is refused (cookie tossing: a sibling subdomain can plant a second cookie of the same
 * name), as is an oversized header.
 */
export function readCookie(header: string | readonly string[] | undefined, name: string): CookieLookup {
  if (header === undefined) return { kind: 'absent' };
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length > MAX_HEADER_LENGTH) return { kind: 'invalid', reason: 'oversized' };
  let found: string | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end && text.slice(start, eq).trim() === name) {
      if (found !== undefined) return { kind: 'invalid', reason: 'duplicate' };
      found = text.slice(eq + 1, end).trim();
    }
    start = end + 1;
  }
  if (found === undefined) return { kind: 'absent' };
  const value = unquote(found);
  return value === undefined ? { kind: 'invalid', reason: 'malformed' } : { kind: 'present', value };
}

/** Strip RFC 6265 quotes and percent-decoding (express-session writes `s%3A...`). */
function unquote(raw: string): string | undefined {
  let value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return value;
}

/**
 * The `Set-Cookie` value that stores a session cookie.
 * @param secure whether this response carries `Secure` (resolved from `'auto'` by the caller).
 * @param maxAgeMs persistent lifetime in ms, or `null` for a browser-session cookie.
 */
export function serializeCookie(
  options: ResolvedCookieOptions,
  value: string,
  secure: boolean,
  maxAgeMs: number | null,
  now: number,
): string {
  return serialize(options.name, value, {
    httpOnly: true,
    secure,
    sameSite: options.sameSite,
    path: options.path,
    ...(options.domain !== undefined && { domain: options.domain }),
    ...(maxAgeMs !== null && { maxAge: Math.floor(maxAgeMs / 1000), expires: new Date(now + maxAgeMs) }),
    ...(options.partitioned && { partitioned: true }),
    ...(options.priority !== undefined && { priority: options.priority }),
    encode: String,
  });
}

/** The `Set-Cookie` value that deletes the session cookie in the browser. */
export function serializeClearCookie(options: ResolvedCookieOptions, secure: boolean): string {
  return serialize(options.name, '', {
    httpOnly: true,
    secure,
    sameSite: options.sameSite,
    path: options.path,
    ...(options.domain !== undefined && { domain: options.domain }),
    ...(options.partitioned && { partitioned: true }),
    expires: new Date(0),
    maxAge: 0,
  });
}
