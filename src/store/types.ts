/**
 * The Store contract: the one small async interface every session store implements.
 *
 * A store keeps {@link SessionRecord}s under opaque string keys. The key is always
 * `base64url(SHA-256(token))`: a store never sees a raw session token. Stores never import the
 * core's manager; the manager depends on this file, not the other way round.
 *
 * Conventions every store follows (checked by `test/conformance`):
 * - "not found" is `null`, never an error;
 * - times are milliseconds since the Unix epoch, durations are milliseconds;
 * - a store that cannot reach its backend rejects with a `TesseraError` whose code is
 *   `STORE_UNAVAILABLE`;
 * - records are returned as fresh objects: mutating a returned record never changes the store.
 * @module
 */

/** Device metadata kept with a session for "your sessions" lists. Never used for lookups. */
export interface SessionMeta {
  /** The `User-Agent` header seen when the session was created (truncated to 256 characters). */
  userAgent?: string;
  /** The client IP address seen when the session was created. */
  ip?: string;
}

/** What a store keeps for one session. */
export interface SessionRecord {
  /**
   * Optimistic-concurrency version. Starts at 1 and grows by one on every write made by the
   * manager; compare-and-set (`expectVersion`) is checked against it.
   */
  version: number;
  /** When the session was created (ms since epoch). The absolute timeout counts from here. */
  createdAt: number;
  /** When the user last proved who they are (ms since epoch), or `null` for an anonymous session. */
  authenticatedAt: number | null;
  /** When the session was last seen by the server (ms since epoch). The idle timeout counts from here. */
  lastSeenAt: number;
  /**
   * When the store may forget the record (ms since epoch): the earlier of the idle and the
   * absolute deadline at the time of the write, plus a short grace (60 s) so that the engine
   * sees and reports the expiry. The engine enforces deadlines itself; stores use this only to
   * expire and purge.
   */
  expiresAt: number;
  /** The signed-in user, or `null` for an anonymous session. Indexed for `listByUser`. */
  userId: string | null;
  /** The application's session data. Must be JSON-serialisable. */
  data: Record<string, unknown>;
  /** Device metadata for session lists. */
  meta: SessionMeta;
  /**
   * Per-session idle timeout in ms that overrides the configured one (set by the Express
   * drop-in when an app changes `req.session.cookie.maxAge`). Absent means "use the configured one".
   */
  idleTimeoutMs?: number;
  /**
   * Per-session persistent-cookie lifetime in ms (`Max-Age` of the cookie), or `null` for a
   * browser-session cookie. Absent means "use the configured cookie options".
   */
  cookieMaxAgeMs?: number | null;
  /**
   * Which tokens open the session (their SHA-256 hashes; never a token). Absent on records
   * written by tessera 0.1, whose one token's hash is their key.
   */
  tokens?: TokenState;
}

/**
 * The token state of a session (see the README's "Token rotation"). Hashes are
 * `base64url(SHA-256(token))`; times are ms since epoch.
 */
export interface TokenState {
  /** Hash of the current token. */
  current: string;
  /** When the current token became current; the next rotation counts from here. */
  issuedAt: number;
  /**
   * A rotation in progress: the new token has been handed out but not yet seen back. Until it
   * is, the current token keeps working and is answered with the same new token again.
   */
  pending?: {
    /** Hash of the new token. */
    hash: string;
    /** The key ring id under which the new token is derived from the current one. */
    keyId: string;
    /** When the rotation started. */
    startedAt: number;
  };
  /** The token replaced by the last rotation: it works until `retiredAt` plus the grace window. */
  previous?: {
    hash: string;
    /** When the client first showed the new token. */
    retiredAt: number;
  };
}

/** Options of {@link Store.set}. */
export interface SetOptions {
  /**
   * Compare-and-set guard:
   * - a number: write only if the stored record exists and has exactly this `version`;
   * - `null`: write only if no live record exists under the key (create);
   * - absent: write unconditionally.
   */
  expectVersion?: number | null;
}

/**
 * The changes of one request to a session's data, for {@link Store.applyDelta}: keys to set
 * (to these values) and keys to remove, applied on whatever the store holds now.
 */
export interface DataDelta {
  /** Keys to set, with their new values (JSON-serialisable; never `undefined`). */
  set: Readonly<Record<string, unknown>>;
  /** Keys to remove (a key that is not there is not an error). */
  remove: readonly string[];
  /** The request's `lastSeenAt`: the stored one becomes the later of the two. */
  lastSeenAt: number;
  /** The request's `expiresAt`: the stored one becomes the later of the two. */
  expiresAt: number;
}

/** Options of {@link Store.deleteByUser}. */
export interface DeleteByUserOptions {
  /** A key to keep (the caller's own session when "signing out everywhere else"). */
  exceptKey?: string;
}

/** One entry of {@link Store.listByUser}. */
export interface UserSessionEntry {
  /** The store key (hash of the token); never the token itself. */
  key: string;
  /** The record as stored. */
  record: SessionRecord;
}

/**
 * The contract every session store implements. All methods are async and never resolve with
 * expired records: a record whose `expiresAt` is at or before the store's clock is treated as
 * absent.
 */
export interface Store {
  /** Load a record, or `null` when there is none (or it has expired). */
  get(key: string): Promise<SessionRecord | null>;
  /**
   * Write a record; the store expires it at `record.expiresAt`.
   * @returns `true` if written, `false` if the `expectVersion` guard failed.
   */
  set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean>;
  /** Delete a record. Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Extend a live record without rewriting its data: set `lastSeenAt` and `expiresAt`, keep the
   * `version`. Used for the idle-timeout "touch" of read-only requests.
   * @returns `true` if the record existed and was touched.
   */
  touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean>;
  /** All live sessions of a user, in no particular order. */
  listByUser(userId: string): Promise<UserSessionEntry[]>;
  /**
   * Delete every session of a user (except `exceptKey`).
   * @returns the number of sessions deleted.
   */
  deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number>;
  /** Release connections and timers. The store is unusable afterwards. */
  close(): Promise<void>;
  /**
   * Optional: how long past a session's deadline the engine asks the store to keep its record,
   * in ms. The grace lets the engine, not the store, see a session that just ran out and report
   * which clock ended it. A store whose entries other tools read as sessions (an express-session
   * store behind {@link LegacyStore}) sets `0`, so what it holds expires when the session does.
   * @default 60000
   */
  readonly expiryGraceMs?: number;
  /**
   * Optional: apply a request's data changes to the live record under `key` atomically, in one
   * round trip, with no version check: set and remove those keys of `data` (other keys stay as
   * they are, whoever wrote them), move `lastSeenAt` and `expiresAt` forward (never back), and
   * add 1 to `version`. The engine sends only changes that commute with other requests' (plain
   * sets and removals of keys); changes that must see the current value (`update(key, fn)`, a
   * sign-in, a rotation) still go through compare-and-set.
   * @returns the record's new `version`; `null` when there is no live record under `key`;
   * `'unsupported'` when the store cannot apply this delta (then the engine compare-and-sets).
   */
  applyDelta?(key: string, delta: DataDelta): Promise<number | null | 'unsupported'>;
  /**
   * Optional: delete every session of every user (an administrator's "log everyone out").
   * Stores that cannot do it cheaply leave it out; rotating the key ring (removing every old
   * secret) ends every session on any store.
   * @returns the number of live sessions deleted.
   */
  deleteAll?(): Promise<number>;
}

/** Copy a record so that callers and stores never share mutable objects. */
export function cloneRecord(record: SessionRecord): SessionRecord {
  return structuredClone(record);
}

/** Serialise a record for stores that keep text (SQL, Redis). */
export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(record);
}

/**
 * The record a store returns for an entry it holds but cannot decode (not JSON, not an object,
 * a key of the wrong type): `version` -1, which no real record has. The engine removes it and
 * reports `invalid_record`, so corrupt data is "no session", never an outage.
 */
export function undecodableRecord(): SessionRecord {
  return { version: -1, createdAt: 0, authenticatedAt: null, lastSeenAt: 0, expiresAt: Number.MAX_SAFE_INTEGER, userId: null, data: {}, meta: {} };
}

/**
 * Parse a record written by {@link encodeRecord}. Text that is not a JSON object gives
 * {@link undecodableRecord}, so that a corrupt row reads as "no session" instead of crashing a
 * request. An object is returned as it is: the engine checks every field ({@link isSessionRecord}).
 */
export function decodeRecord(text: string): SessionRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undecodableRecord();
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as SessionRecord) : undecodableRecord();
}

const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isHash = (value: unknown): value is string => typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value);

/**
 * Whether a value is a valid {@link SessionRecord}: every field of the right type and range.
 * The engine checks every record it reads with it, whatever the store.
 */
export function isSessionRecord(value: unknown): value is SessionRecord {
  if (!isObject(value)) return false;
  const r = value;
  return (
    Number.isSafeInteger(r['version']) &&
    (r['version'] as number) >= 0 &&
    isTime(r['createdAt']) &&
    (r['authenticatedAt'] === null || isTime(r['authenticatedAt'])) &&
    isTime(r['lastSeenAt']) &&
    isTime(r['expiresAt']) &&
    (r['userId'] === null || (typeof r['userId'] === 'string' && r['userId'].length > 0 && r['userId'].length <= 256)) &&
    isObject(r['data']) &&
    isObject(r['meta']) &&
    (r['meta']['userAgent'] === undefined || typeof r['meta']['userAgent'] === 'string') &&
    (r['meta']['ip'] === undefined || typeof r['meta']['ip'] === 'string') &&
    (r['idleTimeoutMs'] === undefined || (isTime(r['idleTimeoutMs']) && r['idleTimeoutMs'] > 0)) &&
    (r['cookieMaxAgeMs'] === undefined || r['cookieMaxAgeMs'] === null || (isTime(r['cookieMaxAgeMs']) && r['cookieMaxAgeMs'] > 0)) &&
    (r['tokens'] === undefined || isTokenState(r['tokens']))
  );
}

function isTokenState(value: unknown): boolean {
  if (!isObject(value) || !isHash(value['current']) || !isTime(value['issuedAt'])) return false;
  const pending = value['pending'];
  const previous = value['previous'];
  return (
    (pending === undefined ||
      (isObject(pending) && isHash(pending['hash']) && typeof pending['keyId'] === 'string' && isTime(pending['startedAt']))) &&
    (previous === undefined || (isObject(previous) && isHash(previous['hash']) && isTime(previous['retiredAt'])))
  );
}
