/**
 * The cookie of `tessera/fastify`: `request.session.cookie`, shaped like @fastify/session's, and
 * the cookie value, in @fastify/session's shape.
 *
 * The value carries what the core's does (`s:<sid>.<token>.<keyId>.<signature>`, see
 * `core/keyring.ts`), laid out as @fastify/session's `<32-character id>.<signature>`: the 48
 * bytes of session id and token, base64url, in two halves of 32 characters, then the key id and
 * the signature. Proxies, log filters and tests written for @fastify/session's cookies keep
 * matching; the signature still covers `<sid>.<token>.<keyId>` exactly as the core checks it.
 * @module
 */
import { SESSION_ID_BYTES, TOKEN_BYTES } from '../../core/token.js';

const HALF = /^[A-Za-z0-9_-]{32}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * The core's cookie value in the plugin's shape (or as it is, when it is not a current one).
 * @param prefix `cookiePrefix`, written before the value as @fastify/session writes it.
 */
export function toPluginValue(core: string, prefix: string): string {
  if (!core.startsWith('s:')) return core;
  const parts = core.slice(2).split('.');
  const [sid, token, keyId, signature] = parts;
  if (parts.length !== 4 || !SESSION_ID.test(sid!) || !TOKEN.test(token!)) return core;
  const joined = Buffer.concat([Buffer.from(sid!, 'base64url'), Buffer.from(token!, 'base64url')]).toString('base64url');
  return `${prefix}${joined.slice(0, 32)}.${joined.slice(32)}.${keyId}.${signature}`;
}

/**
 * A cookie value as the core reads it: the plugin's own shape back to the core's; a
 * @fastify/session value (`<id>.<signature>`, or `<prefix><id>.<signature>` with `cookiePrefix`)
 * as the express-session shape the core migrates (`s:<id>.<signature>`: @fastify/session signs
 * exactly as express-session does). `undefined` when neither.
 */
export function toCoreValue(given: string, prefix: string): string | undefined {
  if (prefix !== '' && !given.startsWith(prefix)) return undefined;
  const value = given.slice(prefix.length);
  const parts = value.split('.');
  if (parts.length === 4 && HALF.test(parts[0]!) && HALF.test(parts[1]!)) {
    const joined = parts[0]! + parts[1]!;
    const bytes = Buffer.from(joined, 'base64url');
    // Only the canonical encoding: every value has one spelling.
    if (bytes.length !== SESSION_ID_BYTES + TOKEN_BYTES || bytes.toString('base64url') !== joined) return undefined;
    const sid = bytes.subarray(0, SESSION_ID_BYTES).toString('base64url');
    const token = bytes.subarray(SESSION_ID_BYTES).toString('base64url');
    return `s:${sid}.${token}.${parts[2]}.${parts[3]}`;
  }
  return value.includes('.') ? `s:${value}` : undefined;
}

/** The fields of `request.session.cookie`, as @fastify/session's `cookie` option has them. */
export interface CookieInit {
  /** Persistent lifetime in ms. */
  maxAge?: number | null | undefined;
  /** The lifetime it was given, in ms, or `null`. */
  originalMaxAge?: number | null | undefined;
  /** Expiry date (a persistent cookie), when no `maxAge` is given. */
  expires?: Date | string | number | null | undefined;
  /** `Secure`, or `'auto'` (Secure over HTTPS, and then `SameSite` as given, else `Lax`). */
  secure?: boolean | 'auto' | 'true' | 'false' | null | undefined;
  /** Accepted and not used: the session cookie is always `HttpOnly`. */
  httpOnly?: boolean | undefined;
  path?: string | undefined;
  domain?: string | null | undefined;
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'Lax' | 'Strict' | 'None' | null | undefined;
  partitioned?: boolean | undefined;
  priority?: 'low' | 'medium' | 'high' | undefined;
}

/**
 * `request.session.cookie`, and @fastify/session's `Cookie` class. Reading `maxAge` gives the
 * time left; setting it (or `expires`) makes the cookie persistent, which tessera applies to the
 * session when it is saved. `httpOnly` is kept as given, but the session cookie is always sent
 * `HttpOnly`.
 */
export class Cookie {
  /** `Path` attribute. @default '/' */
  path: string;
  /** `Secure` attribute, `null` when not given. */
  secure: boolean | 'auto' | 'true' | 'false' | null;
  /** `SameSite` attribute, `null` when not given. */
  sameSite: CookieInit['sameSite'] | null;
  /** `Domain` attribute, `null` for a host-only cookie. */
  domain: string | null;
  /** As given (default `true`); the session cookie itself is always `HttpOnly`. */
  httpOnly: boolean;
  /** `Partitioned` attribute. */
  partitioned: boolean | undefined;
  /** The lifetime the cookie was given, in ms, or `null`. */
  originalMaxAge: number | null = null;
  /** The expiry given at construction, if any. */
  originalExpires?: Date;
  /** The expiry, or `null` for a browser-session cookie. Read through {@link expires}. */
  _expires: Date | null = null;

  /**
   * @param init the attributes.
   * @param request the request, for `secure: 'auto'` (its `protocol`).
   */
  constructor(init: CookieInit = {}, request?: { protocol?: string }) {
    const lifetime = init.originalMaxAge || init.maxAge || null;
    this.path = init.path || '/';
    this.secure = init.secure ?? null;
    this.sameSite = init.sameSite || null;
    this.domain = init.domain || null;
    this.httpOnly = init.httpOnly ?? true;
    this.partitioned = init.partitioned;
    if (init.expires) this.originalExpires = new Date(init.expires);
    if (lifetime) this.maxAge = lifetime;
    else if (init.expires) this.expires = new Date(init.expires);
    if (this.secure === 'auto') {
      if (request?.protocol === 'https') {
        this.secure = true;
      } else {
        this.secure = false;
        this.sameSite = 'lax';
      }
    }
  }

  /** The expiry, or `null` for a browser-session cookie. */
  get expires(): Date | null {
    return this._expires;
  }

  set expires(date: Date | null) {
    this._expires = date;
  }

  /** The time left in ms (from `expires`), or `null` for a browser-session cookie. */
  get maxAge(): number | null {
    return this._expires instanceof Date ? this._expires.getTime() - Date.now() : null;
  }

  /** Make the cookie persistent for `ms` from now (`originalMaxAge` becomes `ms`). */
  set maxAge(ms: number) {
    this._expires = new Date(Date.now() + ms);
    this.originalMaxAge = ms;
  }

  /** What a store keeps of the cookie. */
  toJSON(): Record<string, unknown> {
    return {
      expires: this._expires,
      originalMaxAge: this.originalMaxAge,
      originalExpires: this.originalExpires,
      sameSite: this.sameSite,
      secure: this.secure,
      path: this.path,
      httpOnly: this.httpOnly,
      domain: this.domain,
      partitioned: this.partitioned,
    };
  }
}
