/**
 * express-session's options, mapped to tessera's engine options. Every difference from
 * express-session is a security default and is listed in the README.
 * @module
 */
import type { CookieOptions } from '../../core/cookie.js';
import type { EventListener } from '../../core/events.js';
import type { AnomalyOptions, SessionOptions } from '../../core/options.js';
import type { SecretInput } from '../../core/keyring.js';
import { TesseraError } from '../../core/errors.js';
import type { Store as TesseraStore } from '../../store/types.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import type { CookieInit } from './cookie.js';

const HOUR = 3_600_000;

/** Options of `session()`: express-session's, plus tessera's own. Durations in ms. */
export interface ExpressSessionOptions {
  /** Secret(s) signing the cookie. The first must be at least 32 bytes; later, shorter ones only verify old express-session cookies. */
  secret: SecretInput;
  /** Cookie name. Kept as express-session's so existing users stay signed in; `'__Host-sid'` is recommended for new apps. @default 'connect.sid' */
  name?: string;
  /**
   * Cookie attributes, as express-session's. `httpOnly: false` is ignored (always HttpOnly);
   * `sameSite` defaults to `'lax'`; `secure` defaults to `true` under `NODE_ENV=production`
   * and to `'auto'` (Secure over HTTPS) otherwise. `maxAge` makes a persistent cookie and, unless
   * `idleTimeout` is given, the idle timeout.
   */
  cookie?: CookieInit;
  /** Accepted for compatibility and not used: tessera tokens are always 256-bit CSPRNG values. */
  genid?: (req: unknown) => string;
  /** Write the session on every request even if unchanged. @default false */
  resave?: boolean;
  /** Store new sessions that hold nothing. @default false */
  saveUninitialized?: boolean;
  /** Send the cookie on every response. @default false */
  rolling?: boolean;
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
  /** tessera: idle timeout. @default `cookie.maxAge`, or 30 min */
  idleTimeout?: number;
  /** tessera: absolute timeout. @default the larger of 12 h and `cookie.maxAge` */
  absoluteTimeout?: number;
  /** tessera: see {@link SessionOptions.touchInterval}. */
  touchInterval?: number;
  /** tessera: audit events. */
  onEvent?: EventListener;
  /** tessera: per-user session limit. @default Infinity */
  maxSessionsPerUser?: number;
  /** tessera: what a sign-in over the limit does. @default 'evict-oldest' */
  sessionLimitPolicy?: 'evict-oldest' | 'reject';
  /** tessera: keep anonymous data on sign-in. @default true */
  keepDataOnSignIn?: boolean;
  /** tessera: `Clear-Site-Data` on sign-out, or `false`. */
  clearSiteData?: string | false;
  /** tessera: allow `secure: false` in production. @default false */
  allowInsecureCookie?: boolean;
  /** tessera: replace the token of a live session this often (ms); `Infinity` disables. @default 900_000 (15 min) */
  rotateEvery?: number;
  /** tessera: how long a rotated-away token still works for requests in flight (ms). @default 30_000 */
  rotationGrace?: number;
  /** tessera: what a replayed rotated-away token does. @default 'revoke' */
  onTokenReuse?: 'revoke' | 'report';
  /** tessera: user agent / IP change detection; `false` turns it off. @default report changes */
  anomaly?: AnomalyOptions | false;
  /** tessera: encrypt session data at rest (AES-256-GCM). @default false */
  encryptData?: boolean;
  /** tessera: deadline of one store call in ms. @default 1_000 */
  storeTimeout?: number;
  /** tessera: status of a response whose session could not be saved. @default 503 */
  storeErrorStatus?: number;
  /** tessera: the clock, ms since epoch. @default Date.now */
  now?: () => number;
}

/** Map express-session style options to tessera's engine options (minus the store). */
export function toEngineOptions(options: ExpressSessionOptions, store: TesseraStore): SessionOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TesseraError('INVALID_OPTION', 'session(options): an options object with a secret is required');
  }
  if (options.secret === undefined) {
    throw new TesseraError('INVALID_OPTION', 'session(options): secret is required');
  }
  if (options.unset !== undefined && options.unset !== 'keep' && options.unset !== 'destroy') {
    throw new TesseraError('INVALID_OPTION', 'unset option must be "destroy" or "keep"');
  }
  // As express-session: a genid that is not a function is a mistake worth failing on. A function
  // is accepted and never called (tokens are always 256-bit CSPRNG values).
  if (options.genid !== undefined && typeof options.genid !== 'function') {
    throw new TesseraError('INVALID_OPTION', 'genid option must be a function');
  }
  // express-session 1.19 also takes `cookie: (req) => options`; tessera's cookie attributes are
  // fixed at construction, so refuse it loudly rather than ignore the app's settings.
  if (options.cookie !== undefined && (typeof options.cookie !== 'object' || options.cookie === null)) {
    throw new TesseraError('INVALID_OPTION', 'cookie option must be an object (a per-request cookie function is not supported)');
  }
  const init = options.cookie ?? {};
  const maxAge = cookieMaxAge(init);
  const cookie: CookieOptions = {
    name: options.name ?? 'connect.sid',
    secure: init.secure ?? defaultSecure(options.name),
    sameSite: sameSiteOf(init.sameSite),
    path: init.path ?? '/',
    maxAge,
    ...(init.domain !== undefined && { domain: init.domain }),
    ...(init.partitioned !== undefined && { partitioned: init.partitioned }),
    ...(init.priority !== undefined && { priority: init.priority }),
  };
  const idleTimeout = options.idleTimeout ?? maxAge ?? undefined;
  const absoluteTimeout = options.absoluteTimeout ?? Math.max(12 * HOUR, maxAge ?? 0);
  const engine: SessionOptions = {
    secret: options.secret,
    store,
    cookie,
    absoluteTimeout,
    saveUninitialized: options.saveUninitialized ?? false,
    rolling: options.rolling ?? false,
  };
  if (idleTimeout !== undefined) engine.idleTimeout = idleTimeout;
  if (options.touchInterval !== undefined) engine.touchInterval = options.touchInterval;
  if (options.onEvent !== undefined) engine.onEvent = options.onEvent;
  if (options.maxSessionsPerUser !== undefined) engine.maxSessionsPerUser = options.maxSessionsPerUser;
  if (options.sessionLimitPolicy !== undefined) engine.sessionLimitPolicy = options.sessionLimitPolicy;
  if (options.keepDataOnSignIn !== undefined) engine.keepDataOnSignIn = options.keepDataOnSignIn;
  if (options.clearSiteData !== undefined) engine.clearSiteData = options.clearSiteData;
  if (options.allowInsecureCookie !== undefined) engine.allowInsecureCookie = options.allowInsecureCookie;
  if (options.now !== undefined) engine.now = options.now;
  if (options.storeTimeout !== undefined) engine.storeTimeout = options.storeTimeout;
  if (options.rotateEvery !== undefined) engine.rotateEvery = options.rotateEvery;
  if (options.rotationGrace !== undefined) engine.rotationGrace = options.rotationGrace;
  if (options.onTokenReuse !== undefined) engine.onTokenReuse = options.onTokenReuse;
  if (options.anomaly !== undefined) engine.anomaly = options.anomaly;
  if (options.encryptData !== undefined) engine.encryptData = options.encryptData;
  return engine;
}

/**
 * `Secure` unless told otherwise: always in production and for `__Host-`/`__Secure-` names
 * (browsers refuse those without it), else `'auto'` so plain-HTTP development still works.
 */
function defaultSecure(name: string | undefined): boolean | 'auto' {
  if (name?.startsWith('__Host-') || name?.startsWith('__Secure-')) return true;
  return process.env['NODE_ENV'] === 'production' ? true : 'auto';
}

function cookieMaxAge(init: CookieInit): number | null {
  if (typeof init.maxAge === 'number') return init.maxAge;
  if (init.expires instanceof Date) return Math.max(1, init.expires.getTime() - Date.now());
  return null;
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
