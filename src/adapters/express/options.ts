/**
 * express-session's options, mapped onto tessera's in one direction: the names express-session
 * has and tessera does not (`name`, `cookie` as express-session shapes it, `proxy`, `resave`,
 * `unset`, `genid`) are mapped here; every tessera option passes through unchanged and is
 * declared once, in the core (`SessionOptions`). Every default that differs from
 * express-session's is a security default and is listed in the README.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { MAX_COOKIE_AGE_MS, resolveCookieOptions, type CookieOptions, type CookieScope, type ResolvedCookieOptions } from '../../core/cookie.js';
import { TesseraError } from '../../core/errors.js';
import { checkNames } from '../../core/option-checks.js';
import { OPTION_NAMES, type SessionOptions } from '../../core/options.js';
import { storeProblem } from '../../core/store-check.js';
import type { Transport } from '../../core/transport.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import type { Store as TesseraStore } from '../../store/types.js';
import type { CookieInit } from './cookie.js';

const HOUR = 3_600_000;

/** express-session's cookie attributes (plus tessera's `clearOnDuplicate`), or `'auto'` SameSite. */
export type ExpressCookieOptions = Omit<CookieInit, 'sameSite'> & {
  /** `'auto'`: `None` on requests that came over HTTPS, `Lax` on plain HTTP (express-session 1.19). */
  sameSite?: CookieInit['sameSite'] | 'auto';
  clearOnDuplicate?: readonly CookieScope[];
};

/** Options of `session()`: express-session's, plus every tessera option. Durations in ms. */
export interface ExpressSessionOptions extends Omit<SessionOptions, 'store' | 'cookie' | 'secret' | 'transport'> {
  /**
   * Where session tokens travel (see the core's `transport`): `'cookie'`, `'header'`
   * (`Authorization: Bearer`, or `tokenHeader`) or `'both'` (the header wins), or a function of
   * the request choosing per route, e.g. `(req) => (req.path.startsWith('/api/') ? 'header' :
   * 'cookie')`. It runs before routing, so it sees the original URL. @default 'cookie'
   */
  transport?: Transport | ((req: IncomingMessage) => Transport);
  /**
   * Secret(s) signing the cookie (see the core's `secret`). Left out, the first request's
   * `req.secret` is used (cookie-parser sets it), as express-session does.
   */
  secret?: SessionOptions['secret'] | undefined;
  /** Cookie name. Kept as express-session's so existing users stay signed in; `'__Host-sid'` is recommended for new apps. @default 'connect.sid' */
  name?: string;
  /** @deprecated express-session's old name of {@link name}. */
  key?: string;
  /**
   * Cookie attributes, as express-session's, or a function of the request giving them (1.19).
   * `httpOnly: false` is ignored (always HttpOnly); `sameSite` defaults to `'lax'` (`'auto'`:
   * `None` over HTTPS, `Lax` otherwise); `secure` defaults to `true` under
   * `NODE_ENV=production` and to `'auto'` (Secure over HTTPS) otherwise. `maxAge` makes a
   * persistent cookie and, unless `idleTimeout` is given, the idle timeout.
   */
  cookie?: ExpressCookieOptions | ((req: IncomingMessage) => ExpressCookieOptions);
  /** Accepted for compatibility and not used: session ids and tokens are always CSPRNG values. */
  genid?: (req: unknown) => string;
  /** Write the session on every request even if unchanged (it sends no cookie for that). @default false */
  resave?: boolean;
  /** Trust `X-Forwarded-Proto` (`true`), never (`false`), or follow Express's `trust proxy` (`undefined`). */
  proxy?: boolean;
  /** A tessera store, or any express-session store (connect-redis, connect-pg-simple, ...). @default a tessera MemoryStore */
  store?: TesseraStore | ExpressSessionStore;
  /** When `req.session` is deleted or set to `null`: `'destroy'` deletes the session, `'keep'` keeps it unchanged. @default 'keep' */
  unset?: 'keep' | 'destroy';
  /**
   * An express-session store whose sessions should be moved to tessera on their next request
   * (when `store` is a tessera store). When `store` itself is an express-session store, its old
   * sessions are migrated without this option.
   */
  migrateFrom?: ExpressSessionStore;
  /**
   * When writing the session fails at the end of a request: `'after-response'` sends the
   * response the app wrote, then passes the error to `next(err)` (express-session's behaviour;
   * Express logs it); `'instead-of-response'` passes it to `next(err)` before anything is sent,
   * so the app's error handler answers instead and no success goes out for a session that was
   * not saved. @default 'after-response'
   */
  saveErrors?: 'after-response' | 'instead-of-response';
  /** Status of the error handed to `next(err)` when the store fails. @default 503 */
  storeErrorStatus?: number;
}

/** The options only the Express adapter knows. */
const EXPRESS_NAMES = ['secret', 'name', 'key', 'cookie', 'genid', 'resave', 'proxy', 'store', 'unset', 'migrateFrom', 'saveErrors', 'storeErrorStatus'] as const;
/** express-session's cookie attributes, plus tessera's own. */
const COOKIE_NAMES = ['maxAge', 'expires', 'secure', 'httpOnly', 'path', 'domain', 'sameSite', 'partitioned', 'priority', 'originalMaxAge', 'signed', 'clearOnDuplicate'];

/** What the adapter itself needs, beside the engine's options. */
export interface AdapterSettings {
  resave: boolean;
  unset: 'keep' | 'destroy';
  proxy: boolean | undefined;
  saveErrors: 'after-response' | 'instead-of-response';
  errorStatus: number;
}

/** The engine's options (minus the store and maybe the secret) and the adapter's own settings. */
export interface MappedOptions {
  engine: Omit<SessionOptions, 'store' | 'secret'> & { secret?: SessionOptions['secret'] | undefined };
  adapter: AdapterSettings;
  /** Engine options the adapter computed from express-session's (see `ResolveHints.derived`). */
  derived: Array<keyof SessionOptions>;
  /**
   * The cookie attributes of one request, when they depend on it (`cookie` as a function, or
   * `sameSite: 'auto'`); `undefined` when the engine's options hold for every request.
   */
  cookieFor: ((req: IncomingMessage, secure: boolean) => ResolvedCookieOptions) | undefined;
  /** The transport of one request, when `transport` is a function; `undefined` otherwise. */
  transportFor: ((req: IncomingMessage) => Transport) | undefined;
}

/** Map express-session style options to tessera's (checking names and express-only values). */
export function mapOptions(options: ExpressSessionOptions): MappedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TesseraError('INVALID_OPTION', 'session(options): an options object is required');
  }
  checkNames(options, [...OPTION_NAMES.filter((n) => n !== 'store' && n !== 'cookie' && n !== 'secret'), ...EXPRESS_NAMES], 'session');
  const { name: givenName, key, cookie: given = {}, genid, resave, proxy, store, unset, migrateFrom, saveErrors, storeErrorStatus, transport, ...rest } = options;
  const core: Omit<SessionOptions, 'store' | 'cookie' | 'secret'> & { secret?: SessionOptions['secret'] | undefined } = {
    ...rest,
    ...(transport !== undefined && { transport: typeof transport === 'function' ? 'both' : transport }),
  };
  // As express-session: these are checked before anything else, with its words.
  if (genid !== undefined && typeof genid !== 'function') throw new TesseraError('INVALID_OPTION', 'genid option must be a function');
  if (unset !== undefined && unset !== 'keep' && unset !== 'destroy') {
    throw new TesseraError('INVALID_OPTION', 'unset option must be "destroy" or "keep"');
  }
  if (Array.isArray(core.secret) && core.secret.length === 0) {
    throw new TesseraError('INVALID_OPTION', 'secret option array must contain one or more strings');
  }
  if (key !== undefined) {
    process.emitWarning('tessera: the "key" option is deprecated (as in express-session); use "name"', { code: 'TESSERA_KEY_OPTION', type: 'DeprecationWarning' });
  }
  const name = givenName ?? key ?? 'connect.sid';
  for (const [flag, value] of [['resave', resave], ['proxy', proxy]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw new TesseraError('INVALID_OPTION', `${flag} must be true or false`);
  }
  if (saveErrors !== undefined && saveErrors !== 'after-response' && saveErrors !== 'instead-of-response') {
    throw new TesseraError('INVALID_OPTION', "saveErrors must be 'after-response' or 'instead-of-response'");
  }
  for (const problem of [
    store === undefined ? null : storeProblem(store, 'store', 'either'),
    migrateFrom === undefined ? null : storeProblem(migrateFrom, 'migrateFrom', 'express'),
  ]) {
    if (problem !== null) throw new TesseraError('INVALID_OPTION', problem);
  }
  if (storeErrorStatus !== undefined && !(Number.isInteger(storeErrorStatus) && storeErrorStatus >= 400 && storeErrorStatus <= 599)) {
    throw new TesseraError('INVALID_OPTION', 'storeErrorStatus must be an HTTP error status (400-599)');
  }
  if (typeof given !== 'function' && (typeof given !== 'object' || given === null)) {
    throw new TesseraError('INVALID_OPTION', 'cookie option must be an object or a function of the request returning one');
  }
  // A cookie function is resolved per request; the engine's defaults come from `{}`.
  const init = typeof given === 'function' ? {} : given;
  const cookie = mapCookie(init, name);
  const derived: Array<keyof SessionOptions> = [];
  const engine: MappedOptions['engine'] = { ...core, cookie };
  if (core.idleTimeout === undefined && cookie.maxAge !== null && cookie.maxAge !== undefined) {
    engine.idleTimeout = cookie.maxAge;
    derived.push('idleTimeout');
  }
  if (core.absoluteTimeout === undefined) {
    engine.absoluteTimeout = Math.max(12 * HOUR, cookie.maxAge ?? 0);
    derived.push('absoluteTimeout');
  }
  return {
    engine,
    adapter: { resave: resave ?? false, unset: unset ?? 'keep', proxy, saveErrors: saveErrors ?? 'after-response', errorStatus: storeErrorStatus ?? 503 },
    derived,
    cookieFor: typeof given === 'function' ? perRequestCookie(given, name) : init.sameSite === 'auto' ? autoSameSite(resolveCookieOptions(cookie)) : undefined,
    transportFor: typeof transport === 'function' ? checkedTransport(transport) : undefined,
  };
}

/** A transport function whose every answer is checked: anything else is `INVALID_OPTION`. */
function checkedTransport(fn: (req: IncomingMessage) => Transport): (req: IncomingMessage) => Transport {
  return (req) => {
    const chosen = fn(req);
    if (chosen !== 'cookie' && chosen !== 'header' && chosen !== 'both') {
      throw new TesseraError('INVALID_OPTION', "the transport function must return 'cookie', 'header' or 'both'");
    }
    return chosen;
  };
}

/** express-session's cookie attributes as tessera's cookie options (`sameSite: 'auto'` as Lax). */
function mapCookie(init: ExpressCookieOptions, name: string): CookieOptions {
  checkNames(init, COOKIE_NAMES, 'session({ cookie })');
  return {
    name,
    secure: init.secure ?? defaultSecure(name),
    sameSite: init.sameSite === 'auto' ? 'lax' : sameSiteOf(init.sameSite),
    path: init.path ?? '/',
    maxAge: cookieMaxAge(init),
    ...(init.domain !== undefined && { domain: init.domain }),
    ...(init.partitioned !== undefined && { partitioned: init.partitioned }),
    ...(init.priority !== undefined && { priority: init.priority }),
    ...(init.clearOnDuplicate !== undefined && { clearOnDuplicate: init.clearOnDuplicate }),
  };
}

/**
 * `sameSite: 'auto'` (express-session 1.19): `None` on a request that came over HTTPS, `Lax`
 * otherwise. `None` goes out even with `secure: false` when the app asks for that, as
 * express-session sends it (browsers then drop the cookie over HTTPS: the app's choice).
 */
function autoSameSite(base: ResolvedCookieOptions): (req: IncomingMessage, secure: boolean) => ResolvedCookieOptions {
  const none: ResolvedCookieOptions = { ...base, sameSite: 'none' };
  return (_req, secure) => (secure ? none : base);
}

/** Most distinct cookie settings a cookie function's results are remembered for. */
const COOKIE_CACHE_SIZE = 64;

/** A cookie function's result for a request, mapped and checked (the same result once). */
function perRequestCookie(
  fn: (req: IncomingMessage) => ExpressCookieOptions,
  name: string,
): (req: IncomingMessage, secure: boolean) => ResolvedCookieOptions {
  const cache = new Map<string, { base: ResolvedCookieOptions; auto: boolean }>();
  return (req, secure) => {
    const init = fn(req);
    if (typeof init !== 'object' || init === null) throw new TesseraError('INVALID_OPTION', 'the cookie function must return an object');
    const mapped = mapCookie(init, name);
    const cacheKey = JSON.stringify(mapped, (_key, value: unknown) => (value === undefined ? null : value)) + (init.sameSite === 'auto' ? '+auto' : '');
    let entry = cache.get(cacheKey);
    if (entry === undefined) {
      entry = { base: resolveCookieOptions(mapped), auto: init.sameSite === 'auto' };
      if (cache.size >= COOKIE_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      cache.set(cacheKey, entry);
    }
    return entry.auto && secure ? { ...entry.base, sameSite: 'none' } : entry.base;
  };
}

/**
 * `Secure` unless told otherwise: always in production and for `__Host-`/`__Secure-` names
 * (browsers refuse those without it), else `'auto'` so plain-HTTP development still works.
 */
function defaultSecure(name: string | undefined): boolean | 'auto' {
  if (name?.startsWith('__Host-') || name?.startsWith('__Secure-')) return true;
  return process.env['NODE_ENV'] === 'production' ? true : 'auto';
}

/** A persistent cookie's lifetime in ms (at most 400 days, as browsers keep it), or `null`. */
function cookieMaxAge(init: Pick<ExpressCookieOptions, 'maxAge' | 'expires'>): number | null {
  let ms: number | null = null;
  if (typeof init.maxAge === 'number') ms = init.maxAge;
  else if (init.expires instanceof Date) ms = Math.max(1, init.expires.getTime() - Date.now());
  else if (init.maxAge !== undefined && init.maxAge !== null) throw new TesseraError('INVALID_OPTION', 'cookie.maxAge must be a number of milliseconds');
  if (ms !== null && Number.isNaN(ms)) throw new TesseraError('INVALID_OPTION', 'cookie.expires must be a valid Date');
  return ms === null || !(ms > 0) ? ms : Math.min(ms, MAX_COOKIE_AGE_MS);
}

function sameSiteOf(value: CookieInit['sameSite']): 'lax' | 'strict' | 'none' {
  if (value === true) return 'strict';
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'lax' || lower === 'strict' || lower === 'none') return lower;
    throw new TesseraError('INVALID_OPTION', `cookie.sameSite: unknown value ${JSON.stringify(value)}`);
  }
  // express-session's default (no attribute) and `false` both become Lax: the browsers' own default.
  return 'lax';
}

/** Whether a store implements the tessera Store contract (rather than express-session's). */
export function isTesseraStore(store: unknown): store is TesseraStore {
  return typeof store === 'object' && store !== null && typeof (store as TesseraStore).listByUser === 'function';
}
