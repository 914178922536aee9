/**
 * The options of {@link createSessions}, their defaults, and the checks that run at construction.
 * @module
 */
import type { Store } from '../store/types.js';
import { resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions } from './cookie.js';
import { TesseraError } from './errors.js';
import type { EventListener } from './events.js';
import { KeyRing, type SecretInput } from './keyring.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Options of {@link createSessions}. Durations are milliseconds. */
export interface SessionOptions {
  /**
   * Secret(s) that sign cookie values (HMAC-SHA256): at least 32 bytes. Give an array (or
   * `{ id, secret }` objects) to rotate: the first signs, every one verifies, and cookies signed
   * by an older one are re-signed on the response.
   */
  secret: SecretInput;
  /** Where sessions live. Required: pick `MemoryStore` for development, `SqliteStore` or a server store for production. */
  store: Store;
  /** Cookie attributes; see {@link CookieOptions}. */
  cookie?: CookieOptions;
  /** Idle timeout: a session unused this long expires (OWASP: 15–30 min). @default 1_800_000 (30 min) */
  idleTimeout?: number;
  /** Absolute timeout: a session older than this expires however active (ASVS L2). @default 43_200_000 (12 h) */
  absoluteTimeout?: number;
  /**
   * A read-only request extends the idle deadline at most once per this interval, so most reads
   * cost one store read and no write. Must be smaller than `idleTimeout`.
   * @default the smaller of 60_000 (1 min) and a quarter of `idleTimeout`
   */
  touchInterval?: number;
  /** Create (and set a cookie for) a session that holds no data and no user. @default false */
  saveUninitialized?: boolean;
  /** Send the cookie on every response, refreshing a persistent cookie's expiry. @default false */
  rolling?: boolean;
  /** Keep the anonymous session's data when `signIn` replaces it. @default true */
  keepDataOnSignIn?: boolean;
  /** At most this many sessions per user; `Infinity` for no limit. @default Infinity */
  maxSessionsPerUser?: number;
  /** What `signIn` does when the user is at `maxSessionsPerUser`. @default 'evict-oldest' */
  sessionLimitPolicy?: 'evict-oldest' | 'reject';
  /**
   * The `Clear-Site-Data` header sent by `signOut`, or `false` for none. OWASP recommends all
   * three; note that `"cookies"` clears every cookie of the registrable domain.
   * @default '"cache", "cookies", "storage"'
   */
  clearSiteData?: string | false;
  /** Bound on compare-and-set retries when concurrent requests change one session. @default 32 */
  maxWriteRetries?: number;
  /**
   * Deadline of one store call in ms; past it the call fails with `STORE_UNAVAILABLE` (an
   * adapter answers 503) instead of holding the request. `Infinity` disables it.
   * @default 1_000
   */
  storeTimeout?: number;
  /** Allow `secure: false` cookies when `NODE_ENV` is `production`. @default false */
  allowInsecureCookie?: boolean;
  /**
   * Replace the token of a live session this often (ms), so a stolen cookie stops working
   * without a sign-out. `Infinity` disables it. @default 900_000 (15 min)
   */
  rotateEvery?: number;
  /**
   * After a rotation the old token still works this long (ms), for requests already in flight.
   * Presented later, it is a replay: see `onTokenReuse`. @default 30_000 (30 s)
   */
  rotationGrace?: number;
  /**
   * What a replayed rotated-away token does: `'revoke'` ends the session it leads to (the
   * thief's or the victim's copy, whichever came second, is out) and emits `reuse_detected`;
   * `'report'` only emits it. @default 'revoke'
   */
  onTokenReuse?: 'revoke' | 'report';
  /** Anomaly detection on the user agent and IP recorded at creation; `false` turns it off. */
  anomaly?: AnomalyOptions | false;
  /**
   * Encrypt session data at rest with AES-256-GCM under a key derived from the signing secret
   * (bound to the session's store key), so a store dump reveals neither tokens nor data.
   * @default false
   */
  encryptData?: boolean;
  /** The clock, in ms since epoch. Inject one in tests; never sleep. @default Date.now */
  now?: () => number;
  /** Receives audit events; see {@link SessionEvent}. */
  onEvent?: EventListener;
}

/** How a change of user agent or IP during a session is handled. */
export interface AnomalyOptions {
  /** Compare the `User-Agent` header with the one seen at creation. @default true */
  userAgent?: boolean;
  /**
   * Compare the client IP by network prefix (mobile and NAT users move within a network), or
   * `false` to ignore IP changes. @default { v4: 24, v6: 64 }
   */
  ipPrefix?: { v4: number; v6: number } | false;
  /**
   * `'report'`: emit `anomaly` and carry on (the new values are recorded, so one change is one
   * event); `'revoke'`: end the session; `'require-reauth'`: keep the data but sign the user
   * out, under a new token. @default 'report'
   */
  policy?: 'report' | 'revoke' | 'require-reauth';
}

/** Anomaly options after defaults. */
export interface ResolvedAnomalyOptions {
  userAgent: boolean;
  ipPrefix: { v4: number; v6: number } | false;
  policy: 'report' | 'revoke' | 'require-reauth';
}

/** Options after defaults, with everything required. Internal. */
export interface ResolvedOptions {
  keyRing: KeyRing;
  store: Store;
  cookie: ResolvedCookieOptions;
  idleTimeout: number;
  absoluteTimeout: number;
  touchInterval: number;
  saveUninitialized: boolean;
  rolling: boolean;
  keepDataOnSignIn: boolean;
  maxSessionsPerUser: number;
  sessionLimitPolicy: 'evict-oldest' | 'reject';
  clearSiteData: string | false;
  maxWriteRetries: number;
  storeTimeout: number;
  rotateEvery: number;
  rotationGrace: number;
  onTokenReuse: 'revoke' | 'report';
  anomaly: ResolvedAnomalyOptions | false;
  encryptData: boolean;
  now: () => number;
  onEvent: EventListener | undefined;
}

/** Apply defaults and throw `INVALID_OPTION` for anything unsafe or contradictory. */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options object is required');
  if (!isStore(options.store)) fail('store: a Store (get, set, delete, touch, listByUser, deleteByUser, close) is required');
  const cookie = resolveCookieOptions(options.cookie);
  if (cookie.secure === false && process.env['NODE_ENV'] === 'production' && options.allowInsecureCookie !== true) {
    fail('cookie.secure is false under NODE_ENV=production; set allowInsecureCookie: true if that is really intended');
  }
  const idleTimeout = duration('idleTimeout', options.idleTimeout, 30 * MINUTE);
  const resolved: ResolvedOptions = {
    keyRing: new KeyRing(options.secret),
    store: options.store,
    cookie,
    idleTimeout,
    absoluteTimeout: duration('absoluteTimeout', options.absoluteTimeout, 12 * HOUR),
    touchInterval: duration('touchInterval', options.touchInterval, Math.min(MINUTE, Math.floor(idleTimeout / 4)), true),
    saveUninitialized: options.saveUninitialized ?? false,
    rolling: options.rolling ?? false,
    keepDataOnSignIn: options.keepDataOnSignIn ?? true,
    maxSessionsPerUser: options.maxSessionsPerUser ?? Infinity,
    sessionLimitPolicy: options.sessionLimitPolicy ?? 'evict-oldest',
    clearSiteData: options.clearSiteData ?? '"cache", "cookies", "storage"',
    maxWriteRetries: options.maxWriteRetries ?? 32,
    storeTimeout: options.storeTimeout ?? 1_000,
    rotateEvery: options.rotateEvery === Infinity ? Infinity : duration('rotateEvery', options.rotateEvery, 15 * MINUTE),
    rotationGrace: duration('rotationGrace', options.rotationGrace, 30_000, true),
    onTokenReuse: options.onTokenReuse ?? 'revoke',
    anomaly: resolveAnomaly(options.anomaly),
    encryptData: options.encryptData ?? false,
    now: options.now ?? Date.now,
    onEvent: options.onEvent,
  };
  if (resolved.touchInterval >= resolved.idleTimeout) fail('touchInterval must be smaller than idleTimeout');
  if (!(resolved.maxSessionsPerUser >= 1)) fail('maxSessionsPerUser must be at least 1');
  if (!['evict-oldest', 'reject'].includes(resolved.sessionLimitPolicy)) {
    fail("sessionLimitPolicy must be 'evict-oldest' or 'reject'");
  }
  if (!Number.isInteger(resolved.maxWriteRetries) || resolved.maxWriteRetries < 0) {
    fail('maxWriteRetries must be a non-negative integer');
  }
  if (!(resolved.storeTimeout > 0)) fail('storeTimeout must be a positive number of milliseconds (or Infinity)');
  if (!['revoke', 'report'].includes(resolved.onTokenReuse)) fail("onTokenReuse must be 'revoke' or 'report'");
  if (typeof resolved.now !== 'function') fail('now must be a function returning ms since epoch');
  return resolved;
}

function resolveAnomaly(options: AnomalyOptions | false | undefined): ResolvedAnomalyOptions | false {
  if (options === false) return false;
  const resolved: ResolvedAnomalyOptions = {
    userAgent: options?.userAgent ?? true,
    ipPrefix: options?.ipPrefix ?? { v4: 24, v6: 64 },
    policy: options?.policy ?? 'report',
  };
  if (!['report', 'revoke', 'require-reauth'].includes(resolved.policy)) {
    fail("anomaly.policy must be 'report', 'revoke' or 'require-reauth'");
  }
  const prefix = resolved.ipPrefix;
  if (prefix !== false && !(isBits(prefix.v4, 32) && isBits(prefix.v6, 128))) {
    fail('anomaly.ipPrefix: v4 must be 0-32 and v6 0-128 bits');
  }
  return resolved;
}

function isBits(value: unknown, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function duration(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    fail(`${name} must be a positive number of milliseconds`);
  }
  return value;
}

function isStore(value: unknown): value is Store {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['get', 'set', 'delete', 'touch', 'listByUser', 'deleteByUser', 'close'].every(
    (method) => typeof store[method] === 'function',
  );
}

function fail(message: string): never {
  throw new TesseraError('INVALID_OPTION', message);
}
