/**
 * `session.Cookie`: the object behind `req.session.cookie`, shaped like express-session's.
 *
 * It is a view: the attributes tessera actually sends come from the validated options, and the
 * only fields an app can change per session are `maxAge` / `expires` (a persistent or a
 * browser-session cookie; an expiry in the past ends the session). `httpOnly` holds what it was
 * given, like express-session's, but tessera's session cookie is always sent `HttpOnly`.
 * @module
 */
import { serialize, type SerializeOptions } from 'cookie';

/** The fields of `req.session.cookie`, as express-session defines them. */
export interface CookieInit {
  /** Persistent lifetime in ms, or `null` for a browser-session cookie. */
  maxAge?: number | null;
  /** The original `maxAge` the cookie was given, in ms. */
  originalMaxAge?: number | null;
  /** Expiry date, or `null`/`false` for a browser-session cookie. */
  expires?: Date | null | false;
  secure?: boolean | 'auto';
  httpOnly?: boolean;
  path?: string;
  domain?: string | undefined;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
  partitioned?: boolean;
  priority?: 'low' | 'medium' | 'high';
}

/** `req.session.cookie`. Also usable on its own, as `new session.Cookie({ maxAge })`. */
export class Cookie {
  /** `Path` attribute. @default '/' */
  path = '/';
  /**
   * As given (default `true`), like express-session's. It does not reach the session cookie,
   * which tessera always sends `HttpOnly`.
   */
  httpOnly = true;
  /** `Secure` attribute (or `'auto'`). */
  secure: boolean | 'auto' | undefined;
  /** `Domain` attribute. */
  domain: string | undefined;
  /** `SameSite` attribute. */
  sameSite: boolean | 'lax' | 'strict' | 'none' | undefined;
  /** `Partitioned` attribute. */
  partitioned: boolean | undefined;
  /** `Priority` attribute. */
  priority: 'low' | 'medium' | 'high' | undefined;
  /** The `maxAge` the cookie was given, in ms, or `null`. */
  originalMaxAge: number | null = null;
  #expires: Date | null = null;
  readonly #now: () => number;

  /**
   * @param init attributes, as express-session's `cookie` option.
   * @param now the clock (ms since epoch). @default Date.now
   */
  constructor(init: CookieInit = {}, now: () => number = Date.now) {
    if (typeof init !== 'object' || init === null) throw new TypeError('argument options must be a object');
    this.#now = now;
    if (init.path !== undefined) this.path = init.path;
    if (init.httpOnly !== undefined) this.httpOnly = init.httpOnly;
    this.secure = init.secure;
    this.domain = init.domain;
    this.sameSite = init.sameSite;
    this.partitioned = init.partitioned;
    this.priority = init.priority;
    if (init.expires !== undefined) this.expires = init.expires;
    if (init.maxAge !== undefined) this.maxAge = init.maxAge;
    if (init.originalMaxAge !== undefined && init.originalMaxAge !== null) this.originalMaxAge = init.originalMaxAge;
  }

  /** Expiry date of a persistent cookie, or `null` for a browser-session cookie. */
  get expires(): Date | null {
    return this.#expires;
  }

  set expires(date: Date | null | false) {
    this.#expires = date instanceof Date ? date : null;
    this.originalMaxAge = this.maxAge;
  }

  /** Remaining lifetime in ms, or `null` for a browser-session cookie. Setting it starts over. */
  get maxAge(): number | null {
    return this.#expires === null ? null : this.#expires.getTime() - this.#now();
  }

  set maxAge(ms: number | Date | null) {
    if (ms !== null && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date');
    }
    if (typeof ms === 'number') {
      // One reading of the clock, so originalMaxAge is exactly `ms` (no 1 ms drift).
      this.#expires = new Date(this.#now() + ms);
      this.originalMaxAge = ms;
    } else {
      this.expires = ms;
    }
  }

  /** The attributes, as express-session's `cookie.data`. */
  get data(): CookieInit {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned ?? false,
      expires: this.#expires,
      secure: this.secure ?? false,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite ?? 'lax',
      ...(this.priority !== undefined && { priority: this.priority }),
    };
  }

  /** A `Set-Cookie` value with these attributes (express-session's `cookie.serialize`). */
  serialize(name: string, value: string): string {
    const options: SerializeOptions = {
      httpOnly: this.httpOnly,
      path: this.path,
      secure: this.secure === true,
      ...(this.domain !== undefined && { domain: this.domain }),
      ...(this.#expires !== null && { expires: this.#expires }),
      ...(this.sameSite !== undefined && { sameSite: this.sameSite }),
      ...(this.partitioned === true && { partitioned: true }),
      ...(this.priority !== undefined && { priority: this.priority }),
    };
    return serialize(name, value, options);
  }

  /** JSON form, as express-session stores it. */
  toJSON(): CookieInit {
    return this.data;
  }
}
