/**
 * express-session's options, mapped onto tessera's in one direction: the names express-session
 * has and tessera does not (`name`, `cookie` as express-session shapes it, `proxy`, `resave`,
 * `unset`, `genid`) are mapped here; every tessera option passes through unchanged and is
 * declared once, in the core (`SessionOptions`). Every default that differs from
 * express-session's is a security default and is listed in the README.
 * @module
 */
import { MAX_COOKIE_AGE_MS, type CookieOptions, type CookieScope } from '../../core/cookie.js';
import { TesseraError } from '../../core/errors.js';
import { OPTION_NAMES, checkNames, type SessionOptions } from '../../core/options.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import type { Store as TesseraStore } from '../../store/types.js';
import type { CookieInit } from './cookie.js';

const HOUR = 3_600_000;

/** Options of `session()`: express-session's, plus every tessera option. Durations in ms. */
export interface ExpressSessionOptions extends Omit<SessionOptions, 'store' | 'cookie'> {
  /** Cookie name. Kept as express-session's so existing users stay signed in; `'__Host-sid'` is recommended for new apps. @default 'connect.sid' */
  name?: string;
  /**
   * Cookie attributes, as express-session's. `httpOnly: false` is ignored (always HttpOnly);
   * `sameSite` defaults to `'lax'`; `secure` defaults to `true` under `NODE_ENV=production`
   * and to `'auto'` (Secure over HTTPS) otherwise. `maxAge` makes a persistent cookie and, unless
   * `idleTimeout` is given, the idle timeout.
   */
  cookie?: CookieInit & { clearOnDuplicate?: readonly CookieScope[] };
  /** Accepted for compatibility and not used: tessera tokens are always 256-bit CSPRNG values. */
  genid?: (req: unknown) => string;
  /** Write the session on every request even if unchanged. @default false */
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
  /** Status of a response whose session could not be saved, when no error handler answers. @default 503 */
  storeErrorStatus?: number;
}

/** The options only the Express adapter knows. */
const EXPRESS_NAMES = ['name', 'cookie', 'genid', 'resave', 'proxy', 'store', 'unset', 'migrateFrom', 'storeErrorStatus'] as const;
/** express-session's cookie attributes, plus tessera's own. */
const COOKIE_NAMES = ['maxAge', 'expires', 'secure', 'httpOnly', 'path', 'domain', 'sameSite', 'partitioned', 'priority', 'originalMaxAge', 'signed', 'clearOnDuplicate'];

/** What the adapter itself needs, beside the engine's options. */
export interface AdapterSettings {
  resave: boolean;
  unset: 'keep' | 'destroy';
  proxy: boolean | undefined;
  errorStatus: number;
}

/** The engine's options (minus the store) and the adapter's own settings. */
export interface MappedOptions {
  engine: Omit<SessionOptions, 'store'>;
  adapter: AdapterSettings;
  /** Engine options the adapter computed from express-session's (see `ResolveHints.derived`). */
  derived: Array<keyof SessionOptions>;
}

/** Map express-session style options to tessera's (checking names and express-only values). */
export function mapOptions(options: ExpressSessionOptions): MappedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TesseraError('INVALID_OPTION', 'session(options): an options object with a secret is required');
  }
  checkNames(options, [...OPTION_NAMES.filter((n) => n !== 'store' && n !== 'cookie'), ...EXPRESS_NAMES], 'session');
  const { name, cookie: init = {}, genid, resave, proxy, store: _store, unset, migrateFrom: _migrateFrom, storeErrorStatus, ...core } = options;
  if (core.secret === undefined) throw new TesseraError('INVALID_OPTION', 'session(options): secret is required');
  if (unset !== undefined && unset !== 'keep' && unset !== 'destroy') {
    throw new TesseraError('INVALID_OPTION', 'unset option must be "destroy" or "keep"');
  }
  // As express-session: a genid that is not a function is a mistake worth failing on. A function
  // is accepted and never called (tokens are always 256-bit CSPRNG values).
  if (genid !== undefined && typeof genid !== 'function') throw new TesseraError('INVALID_OPTION', 'genid option must be a function');
  for (const [flag, value] of [['resave', resave], ['proxy', proxy]] as const) {
    if (value !== undefined && typeof value !== 'boolean') throw new TesseraError('INVALID_OPTION', `${flag} must be true or false`);
  }
  if (storeErrorStatus !== undefined && !(Number.isInteger(storeErrorStatus) && storeErrorStatus >= 400 && storeErrorStatus <= 599)) {
    throw new TesseraError('INVALID_OPTION', 'storeErrorStatus must be an HTTP error status (400-599)');
  }
  if (typeof init !== 'object' || init === null) {
    throw new TesseraError('INVALID_OPTION', 'cookie option must be an object (a per-request cookie function is not supported)');
  }
  checkNames(init, COOKIE_NAMES, 'session({ cookie })');
  const maxAge = cookieMaxAge(init);
  const cookie: CookieOptions = {
    name: name ?? 'connect.sid',
    secure: init.secure ?? defaultSecure(name),
    sameSite: sameSiteOf(init.sameSite),
    path: init.path ?? '/',
    maxAge,
    ...(init.domain !== undefined && { domain: init.domain }),
    ...(init.partitioned !== undefined && { partitioned: init.partitioned }),
    ...(init.priority !== undefined && { priority: init.priority }),
    ...(init.clearOnDuplicate !== undefined && { clearOnDuplicate: init.clearOnDuplicate }),
  };
  const derived: Array<keyof SessionOptions> = [];
  const engine: Omit<SessionOptions, 'store'> = { ...core, cookie };
  if (core.idleTimeout === undefined && maxAge !== null) {
    engine.idleTimeout = maxAge;
    derived.push('idleTimeout');
  }
  if (core.absoluteTimeout === undefined) {
    engine.absoluteTimeout = Math.max(12 * HOUR, maxAge ?? 0);
    derived.push('absoluteTimeout');
  }
  return {
    engine,
    adapter: { resave: resave ?? false, unset: unset ?? 'keep', proxy, errorStatus: storeErrorStatus ?? 503 },
    derived,
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
function cookieMaxAge(init: CookieInit): number | null {
  let ms: number | null = null;
  if (typeof init.maxAge === 'number') ms = init.maxAge;
  else if (init.expires instanceof Date) ms = Math.max(1, init.expires.getTime() - Date.now());
  else if (init.maxAge !== undefined && init.maxAge !== null) throw new TesseraError('INVALID_OPTION', 'cookie.maxAge must be a number of milliseconds');
  return ms === null || !(ms > 0) ? ms : Math.min(ms, MAX_COOKIE_AGE_MS);
}

function sameSiteOf(value: CookieInit['sameSite']): 'lax' | 'strict' | 'none' {
  if (value === true) return 'strict';
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'lax' || lower === 'strict' || lower === 'none') return lower;
    if (lower === 'auto') {
      // express-session's 'auto' (None over HTTPS, Lax over HTTP) needs a per-request SameSite.
      throw new TesseraError('INVALID_OPTION', "cookie.sameSite: 'auto' is not supported; use 'lax', 'strict', or 'none' with secure: true");
    }
    throw new TesseraError('INVALID_OPTION', `cookie.sameSite: unknown value ${JSON.stringify(value)}`);
  }
  // express-session's default (no attribute) and `false` both become Lax: the browsers' own default.
  return 'lax';
}

/** Whether a store implements the tessera Store contract (rather than express-session's). */
export function isTesseraStore(store: unknown): store is TesseraStore {
  return typeof store === 'object' && store !== null && typeof (store as TesseraStore).listByUser === 'function';
}
