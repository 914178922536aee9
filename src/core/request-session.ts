/**
 * One request's view of its session: the data handle, sign-in and sign-out, and the commit that
 * writes what changed before the response headers go out.
 * @module
 */
import type { SessionMeta, SessionRecord, UserSessionEntry } from '../store/types.js';
import { serializeClearCookie, serializeCookie } from './cookie.js';
import { TesseraError } from './errors.js';
import { SessionHandle, type SessionData } from './handle.js';
import type { ResolvedOptions } from './options.js';
import { EXPIRED_RECORD_GRACE_MS, absoluteDeadline, expiryReason, idleDeadline, storeExpiry } from './policy.js';
import type { Engine, RequestInfo } from './engine.js';
import { generateToken, storeKeyOf } from './token.js';

/** A session of a user as shown in "your sessions" lists. */
export interface SessionInfo {
  /** The store key: an identifier safe to show and to pass to `revokeSession` (not the token). */
  id: string;
  /** Short HMAC reference, as in events and logs. */
  ref: string;
  /** Whether this is the session of the current request. */
  current: boolean;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch, or `null`. */
  authenticatedAt: number | null;
  /** ms since epoch. */
  lastSeenAt: number;
  /** When it expires unless used again (ms since epoch). */
  expiresAt: number;
  /** User agent at creation. */
  userAgent: string | undefined;
  /** IP at creation. */
  ip: string | undefined;
}

/** Headers a response must carry, as `[name, value]` pairs. */
export type ResponseHeaders = Array<[name: string, value: string]>;

/** Record fields other than data that a request can change. */
interface RecordState {
  version: number;
  createdAt: number;
  authenticatedAt: number | null;
  lastSeenAt: number;
  userId: string | null;
  idleTimeoutMs?: number | undefined;
  cookieMaxAgeMs?: number | null | undefined;
  rotatedAt?: number | undefined;
  meta: SessionMeta;
}

/** How the request came to its session. Internal to the engine. */
export interface SessionStart {
  /** The cookie's token; `null` for a new session or one reached through a rotated-away token. */
  token: string | null;
  /** The store key of `record`. */
  key: string | null;
  record: SessionRecord | null;
  /** Device metadata to record instead of the stored one (anomaly policy `report`). */
  meta?: SessionMeta;
  /** Sign the user out but keep the data, under a new token (anomaly policy `require-reauth`). */
  dropUser?: boolean;
  /** A cookie was presented but led nowhere: clear it unless a new session is set. */
  staleCookie: boolean;
  /** The cookie was signed by an older key: send it again signed by the first. */
  resign: boolean;
  /** Data migrated from an express-session store, and how to delete the old entry. */
  legacy?: { data: SessionData; remove: () => Promise<void> };
  /** When the request began (ms since epoch), if the session is made later than that. */
  at?: number;
}

/** The session of one request. Obtained from `sessions.load(request)`. */
export class RequestSession {
  /** The session data. */
  readonly data: SessionHandle;
  readonly #engine: Engine;
  readonly #options: ResolvedOptions;
  readonly #request: RequestInfo;
  #token: string | null;
  #key: string | null;
  #stored: boolean;
  #state: RecordState;
  #metaChanged = false;
  #cookie: 'keep' | 'set' | 'clear';
  #clearSiteData = false;
  #forceWrite = false;
  #forceTouch = false;
  #legacyRemove: (() => Promise<void>) | undefined;
  #earlyHeaders: 'announced' | 'silent' | null = null;
  /** `signIn` ran: emit `authenticated` once the new session is written. */
  #signedIn = false;
  /** The token is due for rotation; the save replaces it. */
  #rotateDue = false;

  /** @internal use `sessions.load()`. */
  constructor(engine: Engine, request: RequestInfo, start: SessionStart) {
    this.#engine = engine;
    this.#options = engine.options;
    this.#request = request;
    const now = start.at ?? this.#options.now();
    this.#token = start.token;
    this.#key = start.key;
    this.#stored = start.record !== null;
    this.#state = start.record ?? newState(now, null, null, engine.metaOf(request));
    this.data = new SessionHandle(start.record?.data ?? start.legacy?.data ?? {});
    this.#cookie = start.resign ? 'set' : start.staleCookie ? 'clear' : 'keep';
    if (start.meta !== undefined) {
      this.#state.meta = start.meta;
      this.#metaChanged = true;
    }
    if (start.dropUser === true) {
      this.#state.userId = null;
      this.#state.authenticatedAt = null;
      this.#metaChanged = true;
    }
    const issuedAt = this.#state.rotatedAt ?? this.#state.createdAt;
    this.#rotateDue = this.#stored && this.#token !== null && (start.dropUser === true || now - issuedAt >= this.#options.rotateEvery);
    if (start.legacy) {
      this.data.markAllWritten();
      this.#legacyRemove = start.legacy.remove;
    }
  }

  /**
   * The session id: the store key, `base64url(SHA-256(token))`. Safe to show and log (it cannot
   * be turned back into a cookie). A new session gets its token on first use of `id`.
   */
  get id(): string {
    return this.#ensureKey();
  }

  /** The short HMAC reference used in events and logs. */
  get ref(): string {
    return this.#engine.reference(this.#ensureKey());
  }

  /** Whether the session is not in the store yet. */
  get isNew(): boolean {
    return !this.#stored;
  }

  /** The signed-in user, or `null`. */
  get userId(): string | null {
    return this.#state.userId;
  }

  /** When the user signed in (ms since epoch), or `null`. */
  get authenticatedAt(): number | null {
    return this.#state.authenticatedAt;
  }

  /** When the session was created (ms since epoch). */
  get createdAt(): number {
    return this.#state.createdAt;
  }

  /** When the server last saw the session (ms since epoch). */
  get lastSeenAt(): number {
    return this.#state.lastSeenAt;
  }

  /** When the session expires if unused (ms since epoch). */
  get idleExpiresAt(): number {
    return idleDeadline(this.#state, this.#options);
  }

  /** When the session expires however active (ms since epoch). */
  get absoluteExpiresAt(): number {
    return absoluteDeadline(this.#state, this.#options);
  }

  /** Per-session idle timeout override in ms (`undefined`: the configured one). */
  get idleTimeoutOverride(): number | undefined {
    return this.#state.idleTimeoutMs;
  }

  set idleTimeoutOverride(ms: number | undefined) {
    if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) {
      throw new TesseraError('INVALID_OPTION', 'idle timeout must be a positive number of ms');
    }
    if (ms === this.#state.idleTimeoutMs) return;
    this.#state.idleTimeoutMs = ms;
    this.#metaChanged = true;
  }

  /** Lifetime in ms of this session's persistent cookie, `null` for a browser-session cookie. */
  get cookieMaxAge(): number | null {
    return this.#state.cookieMaxAgeMs === undefined ? this.#options.cookie.maxAge : this.#state.cookieMaxAgeMs;
  }

  set cookieMaxAge(ms: number | null) {
    if (ms !== null && !(Number.isFinite(ms) && ms > 0)) {
      throw new TesseraError('INVALID_OPTION', 'cookie max age must be a positive number of ms or null');
    }
    if (ms === this.cookieMaxAge) return;
    this.#state.cookieMaxAgeMs = ms;
    this.#metaChanged = true;
    this.#cookie = 'set';
  }

  /** Whether the user authenticated within the last `maxAge` ms. */
  isFresh(maxAge: number): boolean {
    const at = this.#state.authenticatedAt;
    return at !== null && this.#options.now() - at <= maxAge;
  }

  /**
   * Step-up guard for sensitive actions.
   * @throws TesseraError `NOT_AUTHENTICATED` without a user, `NOT_FRESH` if the sign-in is older than `maxAge` ms.
   */
  requireFresh(maxAge: number): void {
    if (this.#state.userId === null) throw new TesseraError('NOT_AUTHENTICATED', 'Sign-in required');
    if (!this.isFresh(maxAge)) throw new TesseraError('NOT_FRESH', 'Recent sign-in required');
  }

  /**
   * Sign a user in: a new token replaces the old one (the old one stops working at once), the
   * user is recorded, and the per-user session limit is enforced.
   * @throws TesseraError `SESSION_LIMIT` when the limit is reached with the `reject` policy.
   */
  async signIn(userId: string, options: { keepData?: boolean } = {}): Promise<void> {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
      throw new TesseraError('INVALID_OPTION', 'signIn: userId must be a non-empty string of at most 256 characters');
    }
    const keep = options.keepData ?? this.#options.keepDataOnSignIn;
    const data = keep ? this.data.snapshot() : {};
    await this.#engine.makeRoomFor(userId, this.#request, this.#stored ? this.#key : null);
    await this.#end('regenerated');
    const now = this.#options.now();
    this.#state = newState(now, userId, now, this.#engine.metaOf(this.#request));
    this.data.reset({});
    for (const [key, value] of Object.entries(data)) this.data.set(key, value);
    this.#signedIn = true;
  }

  /** Sign out: delete the session, clear the cookie, and send `Clear-Site-Data`. */
  async signOut(): Promise<void> {
    await this.#endAndReset('sign_out');
    this.#clearSiteData = this.#options.clearSiteData !== false;
  }

  /** Delete the session and clear the cookie. The handle continues as a new, empty session. */
  async destroy(): Promise<void> {
    await this.#endAndReset('destroy');
  }

  /**
   * Replace the token, keeping data, user and timestamps: call it when privileges change.
   * The old token stops working at once.
   */
  async regenerate(): Promise<void> {
    const state = { ...this.#state };
    const data = this.data.snapshot();
    await this.#end('regenerated');
    this.#state = { ...state, version: 0, rotatedAt: this.#options.now() };
    this.data.reset({});
    for (const [key, value] of Object.entries(data)) this.data.set(key, value);
  }

  /**
   * Replace the token after a change of privileges (an admin mode, a role change): the same as
   * {@link regenerate}. OWASP asks for a new session id on every privilege level change.
   */
  async elevate(): Promise<void> {
    await this.regenerate();
  }

  /** Load the session again from the store, dropping unsaved changes. @returns false if it is gone. */
  async reload(): Promise<boolean> {
    if (!this.#stored || this.#key === null) return false;
    const record = await this.#engine.read(this.#key, this.#request);
    if (record === null || expiryReason(record, this.#options, this.#options.now()) !== null) {
      await this.#endAndReset('destroy');
      return false;
    }
    this.#state = record;
    this.data.reset(record.data);
    this.#metaChanged = false;
    return true;
  }

  /** Write the whole session on the next save even if nothing changed (express-session `resave`). */
  forceWrite(): void {
    this.#forceWrite = true;
  }

  /** Extend the idle deadline on the next save even if the touch interval has not passed. */
  touch(): void {
    this.#forceTouch = true;
  }

  /** Send the cookie on this response even if it did not change (express-session `rolling`). */
  resendCookie(): void {
    if (this.#cookie !== 'clear') this.#cookie = 'set';
  }

  /** The sessions of the signed-in user (none when anonymous), the current one marked. */
  async listSessions(): Promise<SessionInfo[]> {
    if (this.#state.userId === null) return [];
    const entries = await this.#engine.listUser(this.#state.userId, this.#request);
    return entries.map((entry) => this.#engine.describe(entry, this.#stored ? this.#key : null));
  }

  /**
   * End one session of the signed-in user, by the `id` from {@link listSessions}. Ending the
   * current one is a sign-out. @returns whether a session was ended.
   */
  async revokeSession(id: string): Promise<boolean> {
    const userId = this.#state.userId;
    if (userId === null) throw new TesseraError('NOT_AUTHENTICATED', 'Sign-in required');
    if (this.#stored && id === this.#key) {
      await this.signOut();
      return true;
    }
    return this.#engine.revokeOne(userId, id, this.#request);
  }

  /** End every other session of the signed-in user. @returns how many were ended. */
  async signOutOthers(): Promise<number> {
    return this.#revokeOthers('sign_out_others');
  }

  /** End every session of the signed-in user, this one included (a sign-out everywhere). */
  async signOutEverywhere(): Promise<number> {
    const count = await this.#revokeOthers('sign_out_everywhere');
    await this.signOut();
    return count + 1;
  }

  async #revokeOthers(reason: 'sign_out_others' | 'sign_out_everywhere'): Promise<number> {
    const userId = this.#state.userId;
    if (userId === null) throw new TesseraError('NOT_AUTHENTICATED', 'Sign-in required');
    const keep = this.#stored && this.#key !== null ? this.#key : undefined;
    return this.#engine.revokeUser(userId, this.#request, keep, reason);
  }

  /**
   * Whether a store call failed during this request. Adapters then leave the response to the
   * application's error handling instead of trying to save again.
   */
  get storeFailed(): boolean {
    return this.#engine.storeFailed(this.#request);
  }

  /**
   * Write pending changes to the store: creates a new session that has content, writes changed
   * data with compare-and-set (re-applying this request's changes on conflict), or extends the
   * idle deadline at most once per `touchInterval`. Safe to call more than once.
   * @throws TesseraError `STORE_UNAVAILABLE` or `WRITE_CONFLICT`.
   */
  async save(): Promise<void> {
    const now = this.#options.now();
    if (!this.#stored) {
      if (!this.#shouldCreate() || this.#earlyHeaders === 'silent') return;
      await this.#create(now);
      return;
    }
    const changes = this.data.changes();
    if (this.#rotateDue && this.#token !== null && (await this.#rotate(now))) return;
    if (changes.size > 0 || this.#metaChanged || this.#forceWrite) {
      await this.#write(now, changes);
    } else if (this.#forceTouch || now - this.#state.lastSeenAt >= this.#options.touchInterval) {
      await this.#touch(now);
    }
  }

  /**
   * The headers this response must carry: `Set-Cookie` when the cookie changed (with
   * `Cache-Control: no-store` so no cache keeps it), and `Clear-Site-Data` after a sign-out.
   * @param beforeSave true when the headers must go out before {@link save} runs.
   */
  responseHeaders(beforeSave = false): ResponseHeaders {
    const headers: ResponseHeaders = [];
    const secure = this.#options.cookie.secure === 'auto' ? this.#request.secure : this.#options.cookie.secure;
    if (beforeSave && !this.#stored) {
      // The headers leave before the save (a streamed response). Announce a new session now if
      // the save will create it; otherwise make sure the save does not create one nobody knows.
      this.#earlyHeaders = this.#shouldCreate() ? 'announced' : 'silent';
      if (this.#earlyHeaders === 'announced') {
        this.#ensureKey();
        this.#cookie = 'set';
      }
    }
    const willExist = this.#stored || this.#earlyHeaders === 'announced';
    if (this.#cookie === 'set' && willExist && this.#token !== null) {
      const value = this.#options.keyRing.sign(this.#token);
      headers.push(['Set-Cookie', serializeCookie(this.#options.cookie, value, secure, this.cookieMaxAge, this.#options.now())]);
    } else if (this.#cookie === 'clear' && !willExist) {
      headers.push(['Set-Cookie', serializeClearCookie(this.#options.cookie, secure)]);
    }
    // OWASP: a response that carries a session identifier must not be cached.
    if (headers.length > 0) headers.push(['Cache-Control', 'no-store']);
    if (this.#clearSiteData && this.#options.clearSiteData !== false) {
      headers.push(['Clear-Site-Data', this.#options.clearSiteData]);
    }
    return headers;
  }

  #shouldCreate(): boolean {
    return this.data.size > 0 || this.#state.userId !== null || this.#options.saveUninitialized || this.#forceWrite;
  }

  async #create(now: number): Promise<void> {
    const key = this.#ensureKey();
    this.#state.lastSeenAt = now;
    const record = this.#record(1);
    if (!(await this.#engine.write(key, record, null, this.#request))) {
      throw new TesseraError('WRITE_CONFLICT', 'A new session collided with an existing one');
    }
    this.#afterWrite(record);
    this.#cookie = 'set';
    this.#engine.emit('created', this.#request, this.ref, this.#state.userId);
    if (this.#signedIn) this.#engine.emit('authenticated', this.#request, this.ref, this.#state.userId);
    this.#signedIn = false;
    const remove = this.#legacyRemove;
    this.#legacyRemove = undefined;
    if (remove) await remove();
  }

  async #write(now: number, changes: ReadonlyMap<string, unknown>): Promise<void> {
    let key = this.#ensureKey();
    for (let attempt = 0; attempt <= this.#options.maxWriteRetries; attempt++) {
      this.#state.lastSeenAt = now;
      const record = this.#record(this.#state.version + 1);
      if (await this.#engine.write(key, record, this.#state.version, this.#request)) {
        this.#afterWrite(record);
        if (this.cookieMaxAge !== null) this.resendCookie();
        return;
      }
      let fresh = await this.#engine.read(key, this.#request);
      if (fresh?.movedTo !== undefined) {
        // Rotated by a parallel request: follow the session to its new key. This response
        // sends no cookie; the rotating response carries the new token.
        key = fresh.movedTo;
        this.#key = key;
        this.#token = null;
        fresh = await this.#engine.read(key, this.#request);
      }
      if (fresh === null || fresh.movedTo !== undefined) {
        // Deleted meanwhile (signed out in another tab, revoked, expired): never resurrect it.
        this.#stored = false;
        this.#cookie = 'clear';
        this.data.reset({});
        return;
      }
      this.#adopt(fresh);
      this.data.rebase(fresh.data, changes);
    }
    throw new TesseraError('WRITE_CONFLICT', 'Too many concurrent writes to one session');
  }

  /**
   * Move the session to a new token: write it under the new key, then turn the old key into a
   * pointer (compare-and-set, so a parallel write wins and the rotation waits for the next
   * request). @returns whether it rotated (it also wrote every pending change).
   */
  async #rotate(now: number): Promise<boolean> {
    const oldKey = this.#key!;
    const oldVersion = this.#state.version;
    const token = generateToken();
    const newKey = storeKeyOf(token);
    const state = this.#state;
    const previous = { lastSeenAt: state.lastSeenAt, rotatedAt: state.rotatedAt };
    state.lastSeenAt = now;
    state.rotatedAt = now;
    const record = this.#record(1);
    const pointer: SessionRecord = {
      version: oldVersion + 1,
      createdAt: state.createdAt,
      authenticatedAt: null,
      lastSeenAt: now,
      // Kept as long as the session could live, to recognise a replay of the old token.
      expiresAt: absoluteDeadline(state, this.#options) + EXPIRED_RECORD_GRACE_MS,
      userId: null,
      data: {},
      meta: {},
      movedTo: newKey,
      retiredAt: now,
    };
    const written =
      (await this.#engine.write(newKey, record, null, this.#request)) &&
      (await this.#engine.write(oldKey, pointer, oldVersion, this.#request).then(async (ok) => {
        if (!ok) await this.#engine.remove(newKey, this.#request);
        return ok;
      }));
    if (!written) {
      Object.assign(state, previous);
      this.#rotateDue = false;
      return false;
    }
    this.#token = token;
    this.#key = newKey;
    this.#rotateDue = false;
    this.#afterWrite(record);
    this.#cookie = 'set';
    this.#engine.emit('rotated', this.#request, this.ref, this.#state.userId, { previousRef: this.#engine.reference(oldKey) });
    return true;
  }

  async #touch(now: number): Promise<void> {
    const key = this.#ensureKey();
    const lastSeenAt = now;
    const expiresAt = storeExpiry({ ...this.#state, lastSeenAt }, this.#options);
    if (await this.#engine.touch(key, lastSeenAt, expiresAt, this.#request)) {
      this.#state.lastSeenAt = lastSeenAt;
      this.#forceTouch = false;
      if (this.cookieMaxAge !== null) this.resendCookie();
    } else {
      this.#stored = false;
      this.#cookie = 'clear';
      this.data.reset({});
    }
  }

  /** Take the fresh record's fields, keeping this request's own meta changes. */
  #adopt(fresh: SessionRecord): void {
    const mine = this.#state;
    this.#state = { ...fresh };
    if (this.#metaChanged) {
      this.#state.idleTimeoutMs = mine.idleTimeoutMs;
      this.#state.cookieMaxAgeMs = mine.cookieMaxAgeMs;
    }
  }

  #afterWrite(record: SessionRecord): void {
    this.#stored = true;
    this.#state = { ...record };
    this.#metaChanged = false;
    this.#forceWrite = false;
    this.#forceTouch = false;
    this.data.reset(record.data);
  }

  #record(version: number): SessionRecord {
    const state = this.#state;
    const record: SessionRecord = {
      version,
      createdAt: state.createdAt,
      authenticatedAt: state.authenticatedAt,
      lastSeenAt: state.lastSeenAt,
      expiresAt: storeExpiry(state, this.#options),
      userId: state.userId,
      data: this.data.snapshot(),
      meta: state.meta,
    };
    if (state.idleTimeoutMs !== undefined) record.idleTimeoutMs = state.idleTimeoutMs;
    if (state.cookieMaxAgeMs !== undefined) record.cookieMaxAgeMs = state.cookieMaxAgeMs;
    if (state.rotatedAt !== undefined) record.rotatedAt = state.rotatedAt;
    return record;
  }

  #ensureKey(): string {
    if (this.#key === null) {
      this.#token = generateToken();
      this.#key = storeKeyOf(this.#token);
    }
    return this.#key;
  }

  /** Delete the stored session (if any) and forget the token. */
  async #end(reason: 'regenerated' | 'sign_out' | 'destroy'): Promise<void> {
    const key = this.#key;
    const previousRef = key === null ? null : this.#engine.reference(key);
    if (this.#stored && key !== null) {
      await this.#engine.remove(key, this.#request);
      if (reason !== 'regenerated') this.#engine.emit('destroyed', this.#request, previousRef, this.#state.userId, { reason });
    }
    // A session migrated from express-session on this request: its old entry must go too,
    // or the old `s:` cookie would still open it.
    const removeLegacy = this.#legacyRemove;
    this.#legacyRemove = undefined;
    this.#rotateDue = false;
    if (removeLegacy) await removeLegacy();
    const wasStored = this.#stored;
    this.#stored = false;
    this.#token = null;
    this.#key = null;
    this.#metaChanged = false;
    this.#forceWrite = false;
    this.#cookie = wasStored || this.#cookie === 'clear' ? 'clear' : 'keep';
    if (reason === 'regenerated' && wasStored && previousRef !== null) {
      this.#engine.emit('regenerated', this.#request, this.ref, this.#state.userId, { previousRef });
    }
  }

  async #endAndReset(reason: 'sign_out' | 'destroy'): Promise<void> {
    await this.#end(reason);
    this.#signedIn = false;
    this.#state = newState(this.#options.now(), null, null, this.#engine.metaOf(this.#request));
    this.data.reset({});
  }

  /** @internal for adapters that list entries. */
  static toInfo(entry: UserSessionEntry, ref: string, current: boolean): SessionInfo {
    const { record } = entry;
    return {
      id: entry.key,
      ref,
      current,
      createdAt: record.createdAt,
      authenticatedAt: record.authenticatedAt,
      lastSeenAt: record.lastSeenAt,
      expiresAt: record.expiresAt,
      userAgent: record.meta.userAgent,
      ip: record.meta.ip,
    };
  }
}

function newState(now: number, userId: string | null, authenticatedAt: number | null, meta: SessionMeta): RecordState {
  return {
    version: 0,
    createdAt: now,
    authenticatedAt,
    lastSeenAt: now,
    userId,
    idleTimeoutMs: undefined,
    cookieMaxAgeMs: undefined,
    meta,
  };
}
