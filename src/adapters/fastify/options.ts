/**
 * @fastify/session's options, mapped onto tessera's in one direction: the names @fastify/session
 * has and tessera does not (`cookieName`, `cookie` as @fastify/session shapes it,
 * `cookiePrefix`, `idGenerator`, `algorithm`) are mapped here; every tessera option passes
 * through unchanged (declared once, in the core's `SessionOptions`). Secrets are checked with
 * @fastify/session's own messages. Every default that differs is a security default, listed in
 * the README.
 * @module
 */
import { MAX_COOKIE_AGE_MS, resolveCookieOptions, type CookieOptions, type CookieScope, type ResolvedCookieOptions } from '../../core/cookie.js';
import { TesseraError } from '../../core/errors.js';
import type { SecretInput } from '../../core/keyring.js';
import { checkNames } from '../../core/option-checks.js';
import { OPTION_NAMES, type SessionOptions } from '../../core/options.js';
import { storeProblem } from '../../core/store-check.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import type { Store as TesseraStore } from '../../store/types.js';
import type { CookieInit } from './cookie.js';

const HOUR = 3_600_000;

/** @fastify/session's cookie attributes (plus tessera's `clearOnDuplicate`). */
export interface FastifyCookieOptions extends CookieInit {
  clearOnDuplicate?: readonly CookieScope[];
}

/** Options of the plugin: @fastify/session's, plus every tessera option. Durations in ms. */
export interface FastifySessionOptions extends Omit<SessionOptions, 'store' | 'cookie' | 'secret'> {
  /**
   * Secret(s) signing the cookie: a string of at least 32 characters, or an array (the first
   * signs, all verify; cookies @fastify/session signed with any of them are still read). A
   * Buffer or `{ id, secret }` also works. @fastify/session's signer objects do not: tessera
   * signs its own format, so give the secrets the signer holds.
   */
  secret: string | readonly string[] | SecretInput;
  /** Cookie name. Kept as @fastify/session's so existing users stay signed in. @default 'sessionId' */
  cookieName?: string;
  /**
   * Cookie attributes, as @fastify/session's. `httpOnly: false` is ignored (always HttpOnly);
   * `sameSite` defaults to `'lax'`; `secure` defaults to `true` under `NODE_ENV=production` and
   * to `'auto'` otherwise. `maxAge` makes a persistent cookie and, unless `idleTimeout` is
   * given, the idle timeout.
   */
  cookie?: FastifyCookieOptions;
  /** A tessera store, or any @fastify/session (express-session) store. @default a tessera MemoryStore */
  store?: TesseraStore | ExpressSessionStore;
  /** Accepted for compatibility and not used: session ids and tokens are always CSPRNG values. */
  idGenerator?: (request?: unknown) => string;
  /** The prefix of cookies @fastify/session wrote with `cookiePrefix` (`'s:'` for express-session's), so they are still read. */
  cookiePrefix?: string;
  /** @fastify/session's HMAC algorithm of the cookies it signed: only `'sha256'` (its default) can be read. */
  algorithm?: 'sha256';
  /**
   * A @fastify/session store whose sessions should move to tessera on their next request (when
   * `store` is a tessera store). When `store` itself is such a store, its sessions migrate in place.
   */
  migrateFrom?: ExpressSessionStore;
  /** Status of the error Fastify's error handler gets when the store fails. @default 503 */
  storeErrorStatus?: number;
  /**
   * Store (and set a cookie for) a session that holds no data and no user. @fastify/session's
   * default, kept so that `request.session.sessionId` is stable from a visitor's first request;
   * set `false` to store nothing for visitors until something is put in their session (the
   * core's default, and a store row fewer per anonymous request). @default true
   */
  saveUninitialized?: boolean;
}

/** The options only the plugin knows. */
const FASTIFY_NAMES = ['secret', 'cookieName', 'cookie', 'store', 'idGenerator', 'cookiePrefix', 'algorithm', 'migrateFrom', 'storeErrorStatus'] as const;
const COOKIE_NAMES = ['maxAge', 'originalMaxAge', 'expires', 'secure', 'httpOnly', 'path', 'domain', 'sameSite', 'partitioned', 'priority', 'signed', 'encode', 'clearOnDuplicate'];

const SECRET_REQUIRED = 'the secret option is required, and must be a String, Array of Strings, or a signer object with .sign and .unsign methods';

/** The plugin's options after mapping. */
export interface MappedOptions {
  engine: Omit<SessionOptions, 'store'>;
  derived: Array<keyof SessionOptions>;
  cookieName: string;
  cookiePrefix: string;
  storeErrorStatus: number;
  variants: CookieVariants;
  /** @fastify/session's `saveUninitialized` (the engine's is always off: the plugin applies it). */
  saveUninitialized: boolean;
}

/**
 * Map and check the options.
 * @throws TesseraError `INVALID_OPTION`, with @fastify/session's message for a bad secret.
 */
export function mapOptions(options: FastifySessionOptions): MappedOptions {
  if (typeof options !== 'object' || options === null) throw new TesseraError('INVALID_OPTION', SECRET_REQUIRED);
  checkSecret(options.secret);
  checkNames(options, [...OPTION_NAMES.filter((n) => n !== 'store' && n !== 'cookie' && n !== 'secret'), ...FASTIFY_NAMES], 'tessera/fastify');
  const { secret, cookieName, cookie: given = {}, store, idGenerator, cookiePrefix, algorithm, migrateFrom, storeErrorStatus, ...core } = options;
  if (idGenerator !== undefined && typeof idGenerator !== 'function') throw new TesseraError('INVALID_OPTION', 'idGenerator must be a function');
  if (algorithm !== undefined && algorithm !== 'sha256') {
    throw new TesseraError('INVALID_OPTION', `algorithm: only 'sha256' (@fastify/session's default) can be read; cookies signed with ${JSON.stringify(algorithm)} would all be refused`);
  }
  if (cookiePrefix !== undefined && typeof cookiePrefix !== 'string') throw new TesseraError('INVALID_OPTION', 'cookiePrefix must be a string');
  for (const problem of [
    store === undefined ? null : storeProblem(store, 'store', 'either'),
    migrateFrom === undefined ? null : storeProblem(migrateFrom, 'migrateFrom', 'express'),
  ]) {
    if (problem !== null) throw new TesseraError('INVALID_OPTION', problem);
  }
  if (storeErrorStatus !== undefined && !(Number.isInteger(storeErrorStatus) && storeErrorStatus >= 400 && storeErrorStatus <= 599)) {
    throw new TesseraError('INVALID_OPTION', 'storeErrorStatus must be an HTTP error status (400-599)');
  }
  if (typeof given !== 'object' || given === null) throw new TesseraError('INVALID_OPTION', 'cookie option must be an object');
  checkNames(given, COOKIE_NAMES, 'tessera/fastify({ cookie })');
  const name = cookieName ?? 'sessionId';
  const variants = new CookieVariants(name, given);
  const maxAge = variants.base.maxAge;
  const engine: MappedOptions['engine'] = { ...core, saveUninitialized: false, secret: secret as SecretInput, cookie: variants.baseOptions };
  const derived: Array<keyof SessionOptions> = [];
  if (core.idleTimeout === undefined && maxAge !== null) {
    engine.idleTimeout = maxAge;
    derived.push('idleTimeout');
  }
  if (core.absoluteTimeout === undefined) {
    engine.absoluteTimeout = Math.max(12 * HOUR, maxAge ?? 0);
    derived.push('absoluteTimeout');
  }
  return { engine, derived, cookieName: name, cookiePrefix: cookiePrefix ?? '', storeErrorStatus: storeErrorStatus ?? 503, variants, saveUninitialized: core.saveUninitialized ?? true };
}

/** @fastify/session's secret rules, with its messages; a signer object is refused with why. */
function checkSecret(secret: unknown): void {
  if (typeof secret === 'string') {
    if (secret.length < 32) throw new TesseraError('INVALID_OPTION', 'the secret must have length 32 or greater');
    return;
  }
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new TesseraError('INVALID_OPTION', 'at least one secret is required');
    return;
  }
  if (Buffer.isBuffer(secret)) return;
  if (typeof secret === 'object' && secret !== null) {
    const signer = secret as { sign?: unknown; unsign?: unknown; secret?: unknown };
    if (typeof signer.sign === 'function' && typeof signer.unsign === 'function') {
      throw new TesseraError('INVALID_OPTION', 'secret: tessera/fastify signs its own cookie format and cannot use a signer object; pass the secret(s) the signer holds (an array rotates them)');
    }
    if (signer.secret !== undefined) return; // { id, secret }: the key ring checks it
  }
  throw new TesseraError('INVALID_OPTION', SECRET_REQUIRED);
}

/** Most distinct per-session cookie settings remembered (`request.session.options(...)`). */
const VARIANT_CACHE_SIZE = 64;

/**
 * The cookie attributes of a request: the plugin's, adjusted for what depends on the request
 * (`secure: 'auto'` with `sameSite: 'none'` is `None` over HTTPS and `Lax` otherwise, as
 * @fastify/session sends it) and for `request.session.options(...)`. Each distinct result is
 * checked once (an unsafe combination throws `INVALID_OPTION`) and remembered.
 */
export class CookieVariants {
  /** The attributes for the engine: valid on their own, for any request. */
  readonly baseOptions: CookieOptions;
  /** {@link baseOptions} resolved. */
  readonly base: ResolvedCookieOptions;
  readonly #name: string;
  readonly #given: FastifyCookieOptions;
  readonly #cache = new Map<string, ResolvedCookieOptions>();
  /** `sameSite: 'none'` asked for with `secure: 'auto'`: it applies over HTTPS only. */
  readonly #noneOverHttps: boolean;

  constructor(name: string, given: FastifyCookieOptions) {
    this.#name = name;
    this.#given = given;
    const wanted = cookieOptionsOf(name, given);
    this.#noneOverHttps = wanted.secure === 'auto' && wanted.sameSite === 'none';
    this.baseOptions = this.#noneOverHttps ? { ...wanted, sameSite: 'lax' } : wanted;
    this.base = resolveCookieOptions(this.baseOptions);
  }

  /**
   * The attributes of one request, or `undefined` when the engine's hold.
   * @param secure whether the request came over HTTPS.
   * @param overrides what the app set with `request.session.options(...)`.
   * @throws TesseraError `INVALID_OPTION` for an override tessera refuses (`sameSite: 'none'` without `secure`).
   */
  forRequest(secure: boolean, overrides: FastifyCookieOptions | undefined): ResolvedCookieOptions | undefined {
    if (overrides === undefined) return this.#noneOverHttps && secure ? this.#resolve({ ...this.baseOptions, secure: true, sameSite: 'none' }) : undefined;
    const merged = cookieOptionsOf(this.#name, { ...this.#given, ...overrides });
    if (merged.secure === 'auto' && merged.sameSite === 'none') {
      return this.#resolve(secure ? { ...merged, secure: true } : { ...merged, sameSite: 'lax' });
    }
    return this.#resolve(merged);
  }

  #resolve(options: CookieOptions): ResolvedCookieOptions {
    const key = JSON.stringify(options, (_key, value: unknown) => (value === undefined ? null : value));
    let resolved = this.#cache.get(key);
    if (resolved === undefined) {
      resolved = resolveCookieOptions(options);
      if (this.#cache.size >= VARIANT_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(key, resolved);
    }
    return resolved;
  }
}

/** @fastify/session's cookie attributes as tessera's cookie options. */
function cookieOptionsOf(name: string, init: FastifyCookieOptions): CookieOptions {
  return {
    name,
    secure: secureOf(init.secure, name),
    sameSite: sameSiteOf(init.sameSite),
    path: init.path ?? '/',
    maxAge: maxAgeOf(init),
    ...(typeof init.domain === 'string' && { domain: init.domain }),
    ...(init.partitioned !== undefined && { partitioned: init.partitioned }),
    ...(init.priority !== undefined && { priority: init.priority }),
    ...(init.clearOnDuplicate !== undefined && { clearOnDuplicate: init.clearOnDuplicate }),
  };
}

/**
 * `Secure` unless told otherwise: always in production and for `__Host-`/`__Secure-` names,
 * else `'auto'` (Secure over HTTPS) so plain-HTTP development works.
 */
function secureOf(value: FastifyCookieOptions['secure'], name: string): boolean | 'auto' {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  if (value === 'auto') return 'auto';
  if (value !== undefined && value !== null) throw new TesseraError('INVALID_OPTION', "cookie.secure must be true, false or 'auto'");
  if (name.startsWith('__Host-') || name.startsWith('__Secure-')) return true;
  return process.env['NODE_ENV'] === 'production' ? true : 'auto';
}

function sameSiteOf(value: FastifyCookieOptions['sameSite']): 'lax' | 'strict' | 'none' {
  if (value === true) return 'strict';
  if (value === undefined || value === null || value === false) return 'lax';
  const lower = String(value).toLowerCase();
  if (lower === 'lax' || lower === 'strict' || lower === 'none') return lower;
  throw new TesseraError('INVALID_OPTION', `cookie.sameSite: unknown value ${JSON.stringify(value)}`);
}

/** A persistent cookie's lifetime in ms (at most 400 days), or `null`: `maxAge` wins over `expires`. */
function maxAgeOf(init: FastifyCookieOptions): number | null {
  const lifetime = init.originalMaxAge ?? init.maxAge;
  if (lifetime !== undefined && lifetime !== null) {
    if (typeof lifetime !== 'number' || !(lifetime > 0)) throw new TesseraError('INVALID_OPTION', 'cookie.maxAge must be a positive number of milliseconds');
    return Math.min(lifetime, MAX_COOKIE_AGE_MS);
  }
  if (init.expires === undefined || init.expires === null) return null;
  const at = new Date(init.expires).getTime();
  if (Number.isNaN(at)) throw new TesseraError('INVALID_OPTION', 'cookie.expires must be a valid date');
  // A date in the past would be a cookie browsers delete at once: the shortest lifetime instead.
  return Math.min(Math.max(1_000, at - Date.now()), MAX_COOKIE_AGE_MS);
}
