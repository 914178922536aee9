/**
 * Reading `Set-Cookie` headers of supertest responses, and the parts of a tessera cookie value.
 * @module
 */
import { createHash } from 'node:crypto';

/** What tests need from a response: its headers. */
export interface HasHeaders {
  headers: Record<string, unknown>;
}

/** A parsed `Set-Cookie` line. */
export interface SetCookie {
  /** The raw header line. */
  line: string;
  name: string;
  value: string;
  /** Attributes by lower-case name; flag attributes map to `true`. */
  attributes: Map<string, string | true>;
}

/** Every `Set-Cookie` line of a response. */
export function setCookieLines(res: HasHeaders): string[] {
  const header = res.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header.map(String) : [String(header)];
}

/** Parse one `Set-Cookie` line. */
export function parseSetCookie(line: string): SetCookie {
  const [pair = '', ...rest] = line.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string | true>();
  for (const part of rest) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const at = trimmed.indexOf('=');
    if (at === -1) attributes.set(trimmed.toLowerCase(), true);
    else attributes.set(trimmed.slice(0, at).trim().toLowerCase(), trimmed.slice(at + 1).trim());
  }
  return { line, name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

/** The `Set-Cookie` lines of a response for the cookie `name` (usually zero or one). */
export function setCookiesNamed(res: HasHeaders, name: string): SetCookie[] {
  return setCookieLines(res)
    .map(parseSetCookie)
    .filter((cookie) => cookie.name === name);
}

/** The one `Set-Cookie` for `name`; throws if there is none or more than one. */
export function theSetCookie(res: HasHeaders, name: string): SetCookie {
  const found = setCookiesNamed(res, name);
  if (found.length !== 1) {
    throw new Error(`expected one Set-Cookie for ${name}, got ${found.length}: ${JSON.stringify(setCookieLines(res))}`);
  }
  return found[0]!;
}

/** Whether a `Set-Cookie` tells the browser to delete the cookie. */
export function isClearing(cookie: SetCookie): boolean {
  const expires = cookie.attributes.get('expires');
  return (
    cookie.value === '' &&
    (cookie.attributes.get('max-age') === '0' ||
      (typeof expires === 'string' && new Date(expires).getTime() <= 0))
  );
}

/** The `Cookie` request header a browser would send back for a `Set-Cookie`. */
export function cookieHeader(cookie: SetCookie): string {
  return `${cookie.name}=${cookie.value}`;
}

/** The parts of a tessera cookie value `s:<sid>.<token>.<keyId>.<signature>`. */
export interface SignedValue {
  format: 's' | 'v1';
  /** The session id (for a tessera 0.1 `v1` value: its token). */
  sid: string;
  token: string;
  keyId: string;
  signature: string;
}

/** Split a tessera cookie value (`s:` format 2, or tessera 0.1's `v1`); throws if it is neither. */
export function parseSignedValue(value: string): SignedValue {
  const decoded = decodeURIComponent(value);
  if (decoded.startsWith('s:')) {
    const parts = decoded.slice(2).split('.');
    if (parts.length === 4) {
      const [sid, token, keyId, signature] = parts as [string, string, string, string];
      return { format: 's', sid, token, keyId, signature };
    }
  }
  const parts = decoded.split('.');
  if (parts.length === 4 && parts[0] === 'v1') {
    const [, token, keyId, signature] = parts as [string, string, string, string];
    return { format: 'v1', sid: token, token, keyId, signature };
  }
  throw new Error(`not a tessera cookie value: ${value}`);
}

/** `base64url(SHA-256(text))`, computed independently of the library. */
export function sha256Base64url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/**
 * The store key (and public id) of the session a cookie value names: its id (a tessera 0.1
 * session's 43-character id is stored under `base64url(SHA-256(id))`).
 */
export function storeKeyOfValue(value: string): string {
  const { sid } = parseSignedValue(value);
  return sid.length === 43 ? sha256Base64url(sid) : sid;
}

/**
 * A browser's cookie for one name: it sends the current value and takes whatever the server
 * sets (token rotation replaces the cookie on a live session; a clearing cookie removes it).
 */
export class CookieJar {
  #cookie: SetCookie | undefined;
  readonly name: string;

  constructor(name: string, initial?: SetCookie) {
    this.name = name;
    this.#cookie = initial;
  }

  /** The `Cookie` header to send (`''` when the browser holds none). */
  get header(): string {
    return this.#cookie === undefined ? '' : cookieHeader(this.#cookie);
  }

  /** Take the response's Set-Cookie for this name, if any. */
  update(res: HasHeaders): void {
    const [set] = setCookiesNamed(res, this.name);
    if (set === undefined) return;
    this.#cookie = isClearing(set) ? undefined : set;
  }
}
