/**
 * The options of {@link createSessions}: declared once here (the interface, with its JSDoc),
 * checked once (each name has a rule in {@link OPTION_RULES}; a new option that lacks one does
 * not compile), and resolved once into the internal {@link ResolvedOptions}. Adapters map their
 * framework's own names onto these and pass the rest through unchanged. The generic checks
 * are in `./option-checks.js`.
 * @module
 */
import type { Store } from '../store/types.js';
import { resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions } from './cookie.js';
import { TesseraError } from './errors.js';
import type { EventListener } from './events.js';
import { GENERATE, KeyRing, type SecretInput } from './keyring.js';
import { checkNames, checkValue, type Rule } from './option-checks.js';
import { storeProblem } from './store-check.js';
import { DEFAULT_RESPONSE_TOKEN_HEADER, DEFAULT_TOKEN_HEADER, isHeaderName, type Transport } from './transport.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
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
  /**
   * What of the anonymous session's data `signIn` carries into the signed-in session: `false`
   * nothing, a list of keys (`['cart']`) those keys only, `true` everything. Carrying everything
   * also carries what someone planted before the sign-in (a `returnTo` pointing at a phishing
   * page, on a shared computer or through a fixated cookie), so name the keys you need.
   * `signIn(userId, { keepData })` overrides it for one call. @default false
   */
  keepDataOnSignIn?: boolean | readonly string[];
  /** At most this many sessions per user; `Infinity` for no limit. @default Infinity */
  maxSessionsPerUser?: number;
  /** What `signIn` does when the user is at `maxSessionsPerUser`. @default 'evict-oldest' */
  sessionLimitPolicy?: 'evict-oldest' | 'reject';
  /**
   * The `Clear-Site-Data` header sent by `signOut`, or `false` for none. The default clears only
   * what belongs to this origin: `"cache"` (its HTTP cache) and `"storage"` (its localStorage,
   * sessionStorage, IndexedDB, service workers). tessera clears its own cookie with `Set-Cookie`;
   * `"cookies"` would clear every cookie of the registrable domain, other apps' on sibling hosts
   * and on other ports of `localhost` included: add it (`'"cache", "cookies", "storage"'`, the
   * full form OWASP shows) only when the whole domain is this app's.
   * @default '"cache", "storage"'
   */
  clearSiteData?: string | false;
  /**
   * Compare-and-set attempts after the first when concurrent requests change one session, with
   * jittered exponential backoff between them (1 ms doubling to 64 ms). @default 32
   */
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
   * without a sign-out. The replacement is acknowledged: see the README's "Token rotation".
   * `Infinity` disables it. @default 900_000 (15 min)
   */
  rotateEvery?: number;
  /**
   * Once the client has shown it holds a rotated token, the token before it still works this
   * long (ms), for requests that were already in flight; presented later, it is a replay (see
   * `onTokenReuse`). At least 1 s. @default 30_000 (30 s)
   */
  rotationGrace?: number;
  /**
   * What a replayed token does: `'revoke'` ends the session (the thief's copy and the victim's,
   * since one of the two is not the owner) and emits `reuse_detected`; `'report'` only emits it.
   * @default 'revoke'
   */
  onTokenReuse?: 'revoke' | 'report';
  /**
   * How far apart (ms) the clocks of the hosts sharing a store may be. A stored time up to this
   * much later than this host's clock counts as "now"; a later one proves no deadline and ends
   * the session (`expired` with reason `clock`). The rotation grace is extended by it too.
   * @default 120_000 (2 min)
   */
  maxClockSkew?: number;
  /** Anomaly detection on the user agent and IP recorded at creation; `false` turns it off. */
  anomaly?: AnomalyOptions | false;
  /**
   * Encrypt session data at rest with AES-256-GCM under a key derived from the signing secret
   * (bound to the session's store key), so a store dump reveals neither tokens nor data.
   * @default false
   */
  encryptData?: boolean;
  /**
   * The largest session data, in bytes of UTF-8 JSON. A save of more fails with
   * `DATA_TOO_LARGE` before any store call (keep large data elsewhere, and its id in the
   * session). @default 65536 (64 KiB)
   */
  maxDataBytes?: number;
  /** The clock, in ms since epoch. Inject one in tests; never sleep. @default Date.now */
  now?: () => number;
  /** Receives audit events; see {@link SessionEvent}. */
  onEvent?: EventListener;
  /**
   * The signed-in user as the application's own login code records it in the session data,
   * for apps that do not call `signIn` (passport: `(data) => data.passport?.user`). Read before
   * every save: a user appearing or changing is a sign-in (the per-user index and session limit
   * apply, and a session stored before gets a new id and token); a user disappearing leaves the
   * session anonymous. Return a string (or a finite number) of 1 to 256 characters, or
   * `null`/`undefined` for no user. @default none: only `signIn` signs users in
   */
  userIdFrom?: (data: Readonly<Record<string, unknown>>) => unknown;
  /**
   * Where session tokens travel: `'cookie'` (the session cookie only), `'header'` (the token
   * header only: API, mobile and desktop clients), or `'both'`, where a request that carries
   * the token header uses it and its cookie is ignored. Never a URL. Header clients get a new
   * or rotated token in `responseTokenHeader`, and need no CSRF guard (see the README's "API
   * and mobile clients"). Adapters may let a route choose its own. @default 'cookie'
   */
  transport?: Transport;
  /**
   * The request header that carries the token under the header transport: `'authorization'`
   * reads `Authorization: Bearer <value>`; any other name holds the value alone.
   * @default 'authorization'
   */
  tokenHeader?: string;
  /**
   * The response header that gives a header client its new or rotated token (an empty value:
   * forget the token, the session ended). Cross-origin browser clients can read it only once
   * the app lists it in `Access-Control-Expose-Headers`. @default 'Tessera-Session'
   */
  responseTokenHeader?: string;
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

/** Options after defaults, with everything required. Internal: never reachable by an app. */
export interface ResolvedOptions extends Omit<Required<SessionOptions>, 'secret' | 'cookie' | 'anomaly' | 'onEvent' | 'userIdFrom'> {
  keyRing: KeyRing;
  cookie: ResolvedCookieOptions;
  anomaly: ResolvedAnomalyOptions | false;
  onEvent: EventListener | undefined;
  userIdFrom: SessionOptions['userIdFrom'];
  /** The token header's name, lower-cased (as Node and `Headers` name headers). */
  tokenHeader: string;
}

/**
 * One rule per option. `seconds: true` marks durations for which a value under 1 s can only be
 * a mistake (seconds given for milliseconds). `checked`: validated where it is resolved.
 */
export const OPTION_RULES: { readonly [K in keyof SessionOptions]-?: Rule } = {
  secret: { kind: 'checked' },
  store: { kind: 'checked' },
  cookie: { kind: 'checked' },
  idleTimeout: { kind: 'duration', min: 1, seconds: true },
  absoluteTimeout: { kind: 'duration', min: 1, seconds: true },
  touchInterval: { kind: 'duration', min: 0 },
  saveUninitialized: { kind: 'boolean' },
  rolling: { kind: 'boolean' },
  keepDataOnSignIn: { kind: 'checked' },
  maxSessionsPerUser: { kind: 'integer', min: 1, infinite: true },
  sessionLimitPolicy: { kind: 'oneOf', values: ['evict-oldest', 'reject'] },
  clearSiteData: { kind: 'checked' },
  maxWriteRetries: { kind: 'integer', min: 0 },
  storeTimeout: { kind: 'duration', min: 1, infinite: true },
  allowInsecureCookie: { kind: 'boolean' },
  rotateEvery: { kind: 'duration', min: 1, infinite: true, seconds: true },
  rotationGrace: { kind: 'duration', min: SECOND },
  onTokenReuse: { kind: 'oneOf', values: ['revoke', 'report'] },
  maxClockSkew: { kind: 'duration', min: 0 },
  anomaly: { kind: 'checked' },
  encryptData: { kind: 'boolean' },
  maxDataBytes: { kind: 'integer', min: 1, infinite: true },
  now: { kind: 'function' },
  onEvent: { kind: 'function' },
  userIdFrom: { kind: 'function' },
  transport: { kind: 'oneOf', values: ['cookie', 'header', 'both'] },
  tokenHeader: { kind: 'checked' },
  responseTokenHeader: { kind: 'checked' },
};

/** Every option name of the core. */
export const OPTION_NAMES: readonly string[] = Object.keys(OPTION_RULES);

/** What an adapter tells {@link resolveOptions} about the options it passes. */
export interface ResolveHints {
  /**
   * Options the adapter computed from other options of its own (express-session's
   * `cookie.maxAge` becomes `idleTimeout`): their values are checked, but not for looking like
   * seconds, since the app did not write them under these names.
   */
  derived?: readonly (keyof SessionOptions)[];
}

/** Apply defaults and throw `INVALID_OPTION` for anything unsafe or contradictory. */
export function resolveOptions(options: SessionOptions, hints: ResolveHints = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options object is required');
  checkNames(options, OPTION_NAMES, 'createSessions');
  for (const [name, rule] of Object.entries(OPTION_RULES)) {
    const value = (options as unknown as Record<string, unknown>)[name];
    const derived = hints.derived?.includes(name as keyof SessionOptions) === true && rule.kind === 'duration';
    if (value !== undefined) checkValue(name, value, derived ? { ...rule, seconds: false } : rule);
  }
  const storeError = storeProblem(options.store, 'store', 'tessera');
  if (storeError !== null) fail(storeError);
  const cookie = resolveCookieOptions(options.cookie);
  if (cookie.secure === false && process.env['NODE_ENV'] === 'production' && options.allowInsecureCookie !== true) {
    fail('cookie.secure is false under NODE_ENV=production; set allowInsecureCookie: true if that is really intended');
  }
  const idleTimeout = options.idleTimeout ?? 30 * MINUTE;
  const resolved: ResolvedOptions = {
    keyRing: new KeyRing(options.secret),
    store: options.store,
    cookie,
    idleTimeout,
    absoluteTimeout: options.absoluteTimeout ?? 12 * HOUR,
    touchInterval: options.touchInterval ?? Math.min(MINUTE, Math.floor(idleTimeout / 4)),
    saveUninitialized: options.saveUninitialized ?? false,
    rolling: options.rolling ?? false,
    keepDataOnSignIn: keptKeys(options.keepDataOnSignIn, 'keepDataOnSignIn') ?? false,
    maxSessionsPerUser: options.maxSessionsPerUser ?? Infinity,
    sessionLimitPolicy: options.sessionLimitPolicy ?? 'evict-oldest',
    clearSiteData: clearSiteData(options.clearSiteData),
    maxWriteRetries: options.maxWriteRetries ?? 32,
    storeTimeout: options.storeTimeout ?? SECOND,
    allowInsecureCookie: options.allowInsecureCookie ?? false,
    rotateEvery: options.rotateEvery ?? 15 * MINUTE,
    rotationGrace: options.rotationGrace ?? 30 * SECOND,
    onTokenReuse: options.onTokenReuse ?? 'revoke',
    maxClockSkew: options.maxClockSkew ?? 2 * MINUTE,
    anomaly: resolveAnomaly(options.anomaly),
    encryptData: options.encryptData ?? false,
    maxDataBytes: options.maxDataBytes ?? 64 * 1024,
    now: options.now ?? Date.now,
    onEvent: options.onEvent,
    userIdFrom: options.userIdFrom,
    transport: options.transport ?? 'cookie',
    tokenHeader: headerName(options.tokenHeader, 'tokenHeader', DEFAULT_TOKEN_HEADER).toLowerCase(),
    responseTokenHeader: headerName(options.responseTokenHeader, 'responseTokenHeader', DEFAULT_RESPONSE_TOKEN_HEADER),
  };
  if (resolved.keyRing.weak) {
    if (resolved.encryptData) fail(`secret: encryptData derives its key from the first secret, which is weak; use a strong one: ${GENERATE}`);
    process.emitWarning(
      'tessera: the first secret is weak (shorter than 32 bytes, or repetitive). It is accepted because NODE_ENV is not ' +
        `"production", where it is refused. The session token stays random and is stored hashed, but cookies can be forged cheaply and checked against the store; ${GENERATE}, and put it first.`,
      { code: 'TESSERA_WEAK_SECRET' },
    );
  }
  if (resolved.touchInterval >= resolved.idleTimeout) fail('touchInterval must be smaller than idleTimeout');
  if (resolved.rotateEvery !== Infinity && resolved.rotateEvery <= resolved.rotationGrace + resolved.maxClockSkew) {
    fail('rotateEvery must be longer than rotationGrace + maxClockSkew (a token must outlive its grace window)');
  }
  return resolved;
}

/**
 * A `keepDataOnSignIn` value checked: a boolean, or a list of key names (copied, frozen).
 * @returns `undefined` for `undefined`.
 */
export function keptKeys(value: unknown, name: string): boolean | readonly string[] | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((key) => typeof key === 'string')) return Object.freeze([...(value as string[])]);
  fail(`${name} must be true, false or a list of data keys such as ['cart']`);
}

/** A header name option: `fallback` when absent. */
function headerName(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (!isHeaderName(value)) fail(`${name} must be a header name such as ${JSON.stringify(fallback)} (letters, digits and !#$%&'*+.^_\`|~-)`);
  if (name === 'tokenHeader' && ['cookie', 'set-cookie', 'host'].includes(value.toLowerCase())) fail(`${name} must not be ${JSON.stringify(value)}`);
  return value;
}

function clearSiteData(value: string | false | undefined): string | false {
  if (value === undefined) return '"cache", "storage"';
  if (value === false) return false;
  // A header value: visible ASCII and spaces only, so no header can be injected.
  if (typeof value !== 'string' || !/^[\x20-\x7e]+$/.test(value)) {
    fail('clearSiteData must be false or a header value such as \'"cache", "storage"\' (printable ASCII, no line breaks)');
  }
  return value;
}

function resolveAnomaly(options: AnomalyOptions | false | undefined): ResolvedAnomalyOptions | false {
  if (options === false) return false;
  if (options !== undefined && (typeof options !== 'object' || options === null)) fail('anomaly must be an object or false');
  if (options !== undefined) checkNames(options, ['userAgent', 'ipPrefix', 'policy'], 'anomaly');
  const resolved: ResolvedAnomalyOptions = {
    userAgent: options?.userAgent ?? true,
    ipPrefix: options?.ipPrefix ?? { v4: 24, v6: 64 },
    policy: options?.policy ?? 'report',
  };
  if (!['report', 'revoke', 'require-reauth'].includes(resolved.policy)) {
    fail("anomaly.policy must be 'report', 'revoke' or 'require-reauth'");
  }
  if (typeof resolved.userAgent !== 'boolean') fail('anomaly.userAgent must be true or false');
  const prefix = resolved.ipPrefix;
  if (prefix !== false && !(typeof prefix === 'object' && prefix !== null && isBits(prefix.v4, 32) && isBits(prefix.v6, 128))) {
    fail('anomaly.ipPrefix: v4 must be 0-32 and v6 0-128 bits');
  }
  return resolved;
}

function isBits(value: unknown, max: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function fail(message: string): never {
  throw new TesseraError('INVALID_OPTION', message);
}
