/**
 * The session cookie: options with secure defaults, checked once at construction, and the
 * `Set-Cookie` values. Reading the `Cookie` header is in `./cookie-reader.js`.
 *
 * Defaults follow OWASP's Session Management Cheat Sheet and RFC 6265bis: `__Host-sid`,
 * `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`, no `Max-Age` (a browser-session
 * cookie). `HttpOnly` has no switch: session cookies are never readable by scripts.
 * @module
 */
import { serialize } from 'cookie';
import { TesseraError } from './errors.js';

/** The longest cookie lifetime browsers keep (RFC 6265bis §5.5: 400 days), in ms. */
export const MAX_COOKIE_AGE_MS = 400 * 24 * 60 * 60 * 1000;

/** A cookie scope other than this app's own: a `Domain` and a `Path`. */
export interface CookieScope {
  /** The `Domain` attribute, e.g. `'example.com'` (no scheme, no port). */
  domain: string;
  /** The `Path` attribute. @default '/' */
  path?: string;
}

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
   * browser drops when it closes. The server-side timeouts apply either way. Longer than
   * 400 days is sent as 400 days, the most browsers keep (RFC 6265bis).
   * @default null
   */
  maxAge?: number | null;
  /** The `Partitioned` attribute (CHIPS); requires `secure: true`. @default false */
  partitioned?: boolean;
  /** The `Priority` attribute (Chromium). @default undefined */
  priority?: 'low' | 'medium' | 'high';
  /**
   * Scopes where a sibling subdomain could plant a cookie of the same name (cookie tossing).
   * When the session cookie arrives twice, the request gets no session and the response
   * clears the cookie in each of these scopes, so the planted one goes and the app's own
   * (host-only) cookie, which is never cleared on a duplicate, works again. Not needed with a
   * `__Host-` name, which no other host can set.
   * @default []
   */
  clearOnDuplicate?: readonly CookieScope[];
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
  clearOnDuplicate: ReadonlyArray<Required<CookieScope>>;
}

// RFC 6265 §4.1.1 cookie-name is an HTTP token.
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 §4.1.2.3: a host name (a leading dot is ignored by browsers); no scheme, port or path.
const DOMAIN = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
// RFC 6265 §4.1.1 path-value: printable characters other than ';' (which would start an attribute).
const PATH = /^\/[\x20-\x3a\x3c-\x7e]*$/;
/** A probe value as long as the longest cookie value tessera writes. */
const PROBE_VALUE = `s:${'A'.repeat(43)}.${'A'.repeat(43)}.${'A'.repeat(16)}.${'+/'.repeat(21)}A`;

/** Apply defaults and refuse unsafe or contradictory combinations. */
export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const fail = (message: string, cause?: unknown): never => {
    throw new TesseraError('INVALID_OPTION', `cookie: ${message}`, cause === undefined ? undefined : { cause });
  };
  if (typeof options !== 'object' || options === null) fail('expected an object');
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
    clearOnDuplicate: scopes(options.clearOnDuplicate, fail),
  };
  if (typeof name !== 'string' || !TOKEN_NAME.test(name)) fail(`name ${JSON.stringify(name)} is not a valid cookie name`);
  if (!['lax', 'strict', 'none'].includes(resolved.sameSite)) fail(`sameSite must be 'lax', 'strict' or 'none'`);
  if (secure !== true && secure !== false && secure !== 'auto') fail(`secure must be true, false or 'auto'`);
  if (typeof resolved.path !== 'string' || !resolved.path.startsWith('/')) fail('path must start with "/"');
  if (!PATH.test(resolved.path)) fail(`path must be printable characters without ';' (got ${quote(resolved.path)})`);
  if (resolved.domain !== undefined && (typeof resolved.domain !== 'string' || !DOMAIN.test(resolved.domain))) {
    fail(`domain must be a host name such as "example.com", without a scheme, port or path (got ${quote(resolved.domain)})`);
  }
  if (resolved.maxAge !== null && !(typeof resolved.maxAge === 'number' && Number.isFinite(resolved.maxAge) && resolved.maxAge > 0)) {
    fail('maxAge must be a positive number of milliseconds or null');
  }
  if (typeof resolved.partitioned !== 'boolean') fail('partitioned must be a boolean');
  if (resolved.priority !== undefined && !['low', 'medium', 'high'].includes(resolved.priority)) {
    fail(`priority must be 'low', 'medium' or 'high'`);
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
  // Everything a response will ever write, written once now: an option the serializer refuses
  // (a domain with a port or a scheme, a path with ';', a control character) fails here, at
  // construction, never on a request.
  try {
    serializeCookie(resolved, PROBE_VALUE, true, resolved.maxAge, Date.now());
    serializeClearCookie(resolved, true);
    for (const scope of resolved.clearOnDuplicate) serializeClearCookie({ ...resolved, ...scope }, true);
  } catch (error) {
    fail(error instanceof Error ? escapeControls(error.message) : 'cannot be serialised', error);
  }
  return resolved;
}

/** A value for a message: quoted, with control characters escaped, so the message is one safe log line. */
function quote(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value;
}

/** `text` with control characters (a CR LF from an option's value) written as escapes. */
function escapeControls(text: string): string {
  return Array.from(text, (c) => (c < ' ' || c === '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
}

function scopes(value: CookieOptions['clearOnDuplicate'], fail: (message: string) => never): Array<Required<CookieScope>> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail('clearOnDuplicate must be an array of { domain, path }');
  return value.map((scope: CookieScope, n) => {
    if (typeof scope !== 'object' || scope === null || typeof scope.domain !== 'string') {
      fail(`clearOnDuplicate[${n}] must be { domain: string, path?: string }`);
    }
    if (!DOMAIN.test(scope.domain)) fail(`clearOnDuplicate[${n}].domain must be a host name such as "example.com" (got ${quote(scope.domain)})`);
    const path = scope.path ?? '/';
    if (typeof path !== 'string' || !PATH.test(path)) fail(`clearOnDuplicate[${n}].path must start with "/" and have no ';' (got ${quote(path)})`);
    return { domain: scope.domain, path };
  });
}

/** A per-session lifetime bounded as browsers bound it (400 days), in ms. */
export function clampCookieAge(ms: number): number {
  return Math.min(ms, MAX_COOKIE_AGE_MS);
}

/**
 * The `Set-Cookie` value that stores a session cookie.
 * @param secure whether this response carries `Secure` (resolved from `'auto'` by the caller).
 * @param maxAgeMs persistent lifetime in ms (clamped to 400 days), or `null` for a browser-session cookie.
 */
export function serializeCookie(
  options: ResolvedCookieOptions,
  value: string,
  secure: boolean,
  maxAgeMs: number | null,
  now: number,
): string {
  const age = maxAgeMs === null ? null : clampCookieAge(maxAgeMs);
  return serialize(options.name, value, {
    httpOnly: true,
    secure,
    sameSite: options.sameSite,
    path: options.path,
    ...(options.domain !== undefined && { domain: options.domain }),
    ...(age !== null && { maxAge: Math.floor(age / 1000), expires: new Date(now + age) }),
    ...(options.partitioned && { partitioned: true }),
    ...(options.priority !== undefined && { priority: options.priority }),
    // Percent-encoded as express-session writes it (`s%3A...`), which every cookie parser reads.
    encode: encodeURIComponent,
  });
}

/** The `Set-Cookie` value that deletes the session cookie (in `options`' scope) in the browser. */
export function serializeClearCookie(options: Pick<ResolvedCookieOptions, 'name' | 'sameSite' | 'path' | 'domain' | 'partitioned'>, secure: boolean): string {
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

/** The most path prefixes of a request path that a duplicate's clearing cookies cover. */
const MAX_CLEARED_PATHS = 8;

/**
 * The clearing cookies for a duplicated session cookie, never for the app's own scope, so the
 * app's own cookie survives and a planted one does not. For each configured domain: its path,
 * and every prefix of the request's path (`/`, `/account`, `/account/email`, at most 8), since
 * a planted cookie reaching this request has one of those paths, whichever it chose.
 * @param requestPath the path of the request that brought the duplicate.
 */
export function serializeDuplicateClears(options: ResolvedCookieOptions, secure: boolean, requestPath = '/'): string[] {
  const prefixes = pathPrefixes(requestPath);
  const lines: string[] = [];
  for (const scope of options.clearOnDuplicate) {
    for (const path of new Set([scope.path, ...prefixes])) {
      if (scope.domain === options.domain && path === options.path) continue;
      if (!PATH.test(path)) continue;
      lines.push(serializeClearCookie({ ...options, domain: scope.domain, path }, secure));
    }
  }
  return lines;
}

/** `/a/b/c` → `/`, `/a`, `/a/b`, `/a/b/c` (at most {@link MAX_CLEARED_PATHS}). */
function pathPrefixes(path: string): string[] {
  const prefixes = ['/'];
  const segments = path.split('/').filter((segment) => segment !== '');
  let prefix = '';
  for (const segment of segments.slice(0, MAX_CLEARED_PATHS - 1)) {
    prefix += `/${segment}`;
    prefixes.push(prefix);
  }
  return prefixes;
}
