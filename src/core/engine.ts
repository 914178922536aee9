/**
 * The session engine: reads the cookie, verifies it, loads the record, enforces the deadlines,
 * and gives each request its {@link RequestSession}. Framework-free: adapters translate their
 * request into a {@link RequestInfo} and apply the returned headers.
 * @module
 */
import { createHmac } from 'node:crypto';
import type { SessionMeta, SessionRecord, Store, UserSessionEntry } from '../store/types.js';
import { readCookie } from './cookie.js';
import { TesseraError, storeUnavailable } from './errors.js';
import type { SessionData } from './handle.js';
import type { EventListener, SessionEvent } from './events.js';
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js';
import { detectAnomalies } from './anomaly.js';
import { expiryReason } from './policy.js';
import { isSealed, openData, sealData } from './seal.js';
import { RequestSession, type SessionInfo, type SessionStart } from './request-session.js';
import { storeKeyOf } from './token.js';

/** What the engine needs to know about a request. Adapters fill it in. */
export interface RequestInfo {
  /** The raw `Cookie` header(s). */
  cookie: string | readonly string[] | undefined;
  /** Whether the request came over HTTPS (as decided by the adapter and its proxy settings). */
  secure: boolean;
  /** Client IP address. */
  ip?: string | undefined;
  /** `User-Agent` header. */
  userAgent?: string | undefined;
  /** HTTP method. */
  method?: string | undefined;
  /** URL path without the query string. */
  path?: string | undefined;
}

/**
 * A source of sessions written by express-session, read once and then moved to a tessera
 * session (the express adapter provides it).
 */
export interface LegacySource {
  /** Load an express-session session by its raw id; `null` when absent. */
  load(sid: string): Promise<SessionData | null>;
  /** Delete it once its data lives in a tessera session. */
  remove(sid: string): Promise<void>;
}

/** Extension points for adapters. */
export interface EngineExtensions {
  /** Accept express-session `s:<sid>.<sig>` cookies and migrate their sessions. */
  legacy?: LegacySource;
}

type EventFields<T extends SessionEvent['type']> = Omit<
  Extract<SessionEvent, { type: T }>,
  keyof import('./events.js').EventBase | 'type'
>;

/** The engine behind {@link createSessions}. */
export class Engine {
  /** The resolved options. */
  readonly options: ResolvedOptions;
  readonly #store: Store;
  readonly #listener: EventListener | undefined;
  readonly #legacy: LegacySource | undefined;
  /** Requests during which a store call failed (see {@link RequestSession.storeFailed}). */
  readonly #failed = new WeakSet<RequestInfo>();

  constructor(options: SessionOptions, extensions: EngineExtensions = {}) {
    this.options = resolveOptions(options);
    this.#store = this.options.store;
    this.#listener = this.options.onEvent;
    this.#legacy = extensions.legacy;
  }

  /**
   * The session of a request. A missing, malformed, forged, unknown or expired cookie gives a
   * new empty session (and an event); only a store failure throws.
   * @throws TesseraError `STORE_UNAVAILABLE`.
   */
  async load(request: RequestInfo): Promise<RequestSession> {
    return new RequestSession(this, request, await this.#start(request));
  }

  /**
   * Whether a request presents a session cookie at all. Without one, {@link load} needs no
   * store call and {@link blank} gives the same new, empty session synchronously.
   */
  hasCookie(request: RequestInfo): boolean {
    return readCookie(request.cookie, this.options.cookie.name).kind !== 'absent';
  }

  /**
   * The new, empty session of a request without a session cookie (see {@link hasCookie}), as
   * {@link load} gives it. Adapters use it to make the session only when the app first uses it.
   * @param at when the request began (ms since epoch): the session's creation time.
   */
  blank(request: RequestInfo, at: number = this.options.now()): RequestSession {
    return new RequestSession(this, request, { token: null, key: null, record: null, staleCookie: false, resign: false, at });
  }

  async #start(request: RequestInfo): Promise<SessionStart> {
    const empty: SessionStart = { token: null, key: null, record: null, staleCookie: false, resign: false };
    const found = readCookie(request.cookie, this.options.cookie.name);
    if (found.kind === 'absent') return empty;
    if (found.kind === 'invalid') {
      this.emit('invalid_token', request, null, null, { reason: found.reason });
      return { ...empty, staleCookie: true };
    }
    const verified = this.options.keyRing.verify(found.value, this.#legacy !== undefined);
    if (verified.kind === 'invalid') {
      this.emit('invalid_token', request, null, null, { reason: verified.reason });
      return { ...empty, staleCookie: true };
    }
    if (verified.kind === 'legacy') return this.#startLegacy(verified.sid, request);
    const key = storeKeyOf(verified.token);
    const record = await this.read(key, request);
    if (record === null) {
      this.emit('invalid_token', request, this.reference(key), null, { reason: 'unknown_session' });
      return { ...empty, staleCookie: true };
    }
    if (record.movedTo !== undefined) return this.#startRotated(key, record, request);
    if (!(await this.#isLive(key, record, request))) return { ...empty, staleCookie: true };
    return this.#checkAnomalies({ token: verified.token, key, record, staleCookie: false, resign: verified.resign }, request);
  }

  /** Whether a record is within its deadlines; an expired one is deleted and reported. */
  async #isLive(key: string, record: SessionRecord, request: RequestInfo): Promise<boolean> {
    const expired = expiryReason(record, this.options, this.options.now());
    if (expired === null) return true;
    await this.remove(key, request);
    this.emit('expired', request, this.reference(key), record.userId, { reason: expired });
    return false;
  }

  /**
   * A token that was rotated away. Within the grace window (requests in flight when the
   * rotation happened) it still reaches the session, without a cookie of its own. After it, it
   * is a replay: one of two parties holding the same session is not its owner.
   */
  async #startRotated(key: string, pointer: SessionRecord, request: RequestInfo): Promise<SessionStart> {
    const stale: SessionStart = { token: null, key: null, record: null, staleCookie: true, resign: false };
    let targetKey = pointer.movedTo!;
    let target = await this.read(targetKey, request);
    // Rotated again since: follow the chain a few steps (each step is one rotation interval).
    for (let hops = 0; target?.movedTo !== undefined && hops < 4; hops++) {
      targetKey = target.movedTo;
      target = await this.read(targetKey, request);
    }
    if (target === null || target.movedTo !== undefined) {
      this.emit('invalid_token', request, this.reference(key), null, { reason: 'unknown_session' });
      return stale;
    }
    if (this.options.now() < (pointer.retiredAt ?? 0) + this.options.rotationGrace) {
      if (!(await this.#isLive(targetKey, target, request))) return stale;
      return { token: null, key: targetKey, record: target, staleCookie: false, resign: false };
    }
    const action = this.options.onTokenReuse;
    this.emit('reuse_detected', request, this.reference(targetKey), target.userId, { action });
    if (action === 'revoke') {
      await this.remove(targetKey, request);
      await this.remove(key, request);
      this.emit('revoked', request, this.reference(targetKey), target.userId, { reason: 'token_reuse', count: 1 });
    }
    return stale;
  }

  /** Compare the request's device with the session's and apply the anomaly policy. */
  async #checkAnomalies(start: SessionStart, request: RequestInfo): Promise<SessionStart> {
    const policy = this.options.anomaly;
    const record = start.record!;
    if (policy === false) return start;
    const current = this.metaOf(request);
    const changed = detectAnomalies(record.meta, current, policy);
    if (changed.length === 0) return start;
    const ref = this.reference(start.key!);
    this.emit('anomaly', request, ref, record.userId, { changed, action: policy.policy });
    switch (policy.policy) {
      case 'revoke':
        await this.remove(start.key!, request);
        this.emit('revoked', request, ref, record.userId, { reason: 'anomaly', count: 1 });
        return { token: null, key: null, record: null, staleCookie: true, resign: false };
      case 'require-reauth':
        return { ...start, meta: { ...record.meta, ...current }, dropUser: true };
      default:
        return { ...start, meta: { ...record.meta, ...current } };
    }
  }

  async #startLegacy(sid: string, request: RequestInfo): Promise<SessionStart> {
    const legacy = this.#legacy!;
    const data = await this.#call('legacy_get', request, () => legacy.load(sid));
    if (data === null) {
      this.emit('invalid_token', request, null, null, { reason: 'unknown_session' });
      return { token: null, key: null, record: null, staleCookie: true, resign: false };
    }
    const remove = (): Promise<void> => this.#call('legacy_delete', request, () => legacy.remove(sid));
    return { token: null, key: null, record: null, staleCookie: false, resign: false, legacy: { data, remove } };
  }

  /** The sessions of a user (live ones only), for admin screens. */
  async listUserSessions(userId: string): Promise<SessionInfo[]> {
    const entries = await this.listUser(userId, undefined);
    return entries.map((entry) => this.describe(entry, null));
  }

  /** Emit an event to the listener. Listener exceptions are swallowed. */
  emit<T extends SessionEvent['type']>(
    type: T,
    request: RequestInfo | undefined,
    sessionRef: string | null,
    userId: string | null,
    ...fields: keyof EventFields<T> extends never ? [] : [EventFields<T>]
  ): void {
    if (this.#listener === undefined) return;
    const event = {
      type,
      time: this.options.now(),
      sessionRef,
      userId,
      ip: request?.ip,
      userAgent: request?.userAgent,
      method: request?.method,
      path: request?.path,
      ...fields[0],
    } as SessionEvent;
    try {
      this.#listener(event);
    } catch {
      // An audit listener must never break a request.
    }
  }

  /** HMAC reference of a store key for events and logs: 22 base64url characters. */
  reference(key: string): string {
    return createHmac('sha256', this.options.keyRing.referenceKey).update(key).digest('base64url').slice(0, 22);
  }

  /** Device metadata of a request, bounded in size. */
  metaOf(request: RequestInfo): SessionMeta {
    const meta: SessionMeta = {};
    if (request.userAgent !== undefined) meta.userAgent = request.userAgent.slice(0, 256);
    if (request.ip !== undefined) meta.ip = request.ip.slice(0, 64);
    return meta;
  }

  /** @internal store read with failure reporting. */
  async read(key: string, request: RequestInfo | undefined): Promise<SessionRecord | null> {
    const record = await this.#call('get', request, () => this.#store.get(key));
    if (record === null || !isSealed(record.data)) return record;
    const data = openData(this.options.keyRing, key, record.data);
    return data === undefined ? null : { ...record, data };
  }

  /** @internal store write with failure reporting. */
  async write(key: string, record: SessionRecord, expectVersion: number | null, request: RequestInfo): Promise<boolean> {
    const stored = this.options.encryptData ? { ...record, data: sealData(this.options.keyRing, key, record.data) } : record;
    return this.#call('set', request, () => this.#store.set(key, stored, { expectVersion }));
  }

  /** @internal */
  async touch(key: string, lastSeenAt: number, expiresAt: number, request: RequestInfo): Promise<boolean> {
    return this.#call('touch', request, () => this.#store.touch(key, lastSeenAt, expiresAt));
  }

  /** @internal */
  async remove(key: string, request: RequestInfo | undefined): Promise<void> {
    await this.#call('delete', request, () => this.#store.delete(key));
  }

  /** @internal live sessions of a user. */
  async listUser(userId: string, request: RequestInfo | undefined): Promise<UserSessionEntry[]> {
    const entries = await this.#call('listByUser', request, () => this.#store.listByUser(userId));
    const now = this.options.now();
    return entries.filter((entry) => entry.record.movedTo === undefined && expiryReason(entry.record, this.options, now) === null);
  }

  /** @internal */
  describe(entry: UserSessionEntry, currentKey: string | null): SessionInfo {
    return RequestSession.toInfo(entry, this.reference(entry.key), entry.key === currentKey);
  }

  /** End one session of a user by its id (store key). @returns whether one was ended. */
  async revokeOne(userId: string, id: string, request?: RequestInfo): Promise<boolean> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) return false;
    const record = await this.read(id, request);
    if (record === null || record.userId !== userId) return false;
    await this.remove(id, request);
    this.emit('revoked', request, this.reference(id), userId, { reason: 'user', count: 1 });
    return true;
  }

  /** End every session of a user, except `exceptKey`. @returns how many were ended. */
  async revokeUser(
    userId: string,
    request?: RequestInfo,
    exceptKey?: string,
    reason: 'sign_out_everywhere' | 'sign_out_others' | 'admin' = 'admin',
  ): Promise<number> {
    const options = exceptKey === undefined ? {} : { exceptKey };
    const count = await this.#call('deleteByUser', request, () => this.#store.deleteByUser(userId, options));
    const ref = exceptKey === undefined ? null : this.reference(exceptKey);
    if (count > 0) this.emit('revoked', request, ref, userId, { reason, count });
    return count;
  }

  /**
   * End every session of every user (an administrator's "log everyone out"), on stores that
   * implement `deleteAll` (memory, SQLite, PostgreSQL, MySQL). On any store, removing every
   * old secret from the key ring does the same.
   * @throws TesseraError `INVALID_OPTION` when the store cannot delete everything.
   * @returns how many sessions were ended.
   */
  async revokeAllSessions(): Promise<number> {
    const store = this.#store;
    if (typeof store.deleteAll !== 'function') {
      throw new TesseraError('INVALID_OPTION', 'This store cannot delete every session; rotate the key ring instead');
    }
    const count = await this.#call('deleteAll', undefined, () => store.deleteAll!());
    this.emit('revoked', undefined, null, null, { reason: 'admin', count });
    return count;
  }

  /**
   * Enforce `maxSessionsPerUser` before a sign-in adds one: evict the oldest sessions or refuse.
   * @throws TesseraError `SESSION_LIMIT` with the `reject` policy.
   */
  async makeRoomFor(userId: string, request: RequestInfo, replacingKey: string | null): Promise<void> {
    const max = this.options.maxSessionsPerUser;
    if (max === Infinity) return;
    const others = (await this.listUser(userId, request)).filter((entry) => entry.key !== replacingKey);
    const excess = others.length - max + 1;
    if (excess <= 0) return;
    if (this.options.sessionLimitPolicy === 'reject') {
      throw new TesseraError('SESSION_LIMIT', 'Too many active sessions for this user');
    }
    others.sort((a, b) => a.record.createdAt - b.record.createdAt);
    for (const entry of others.slice(0, excess)) {
      await this.remove(entry.key, request);
      this.emit('revoked', request, this.reference(entry.key), userId, { reason: 'session_limit', count: 1 });
    }
  }

  /** Release the store. */
  async close(): Promise<void> {
    await this.#store.close();
  }

  /** Whether a store call failed while serving this request. */
  storeFailed(request: RequestInfo): boolean {
    return this.#failed.has(request);
  }

  /**
   * Run one store call with the `storeTimeout` deadline. Any failure, a timeout included,
   * becomes `STORE_UNAVAILABLE`, is reported as a `store_error` event, and marks the request.
   */
  async #call<T>(operation: string, request: RequestInfo | undefined, run: () => Promise<T>): Promise<T> {
    const limit = this.options.storeTimeout;
    try {
      const call = run();
      if (limit === Infinity) return await call;
      // One promise settled by whichever comes first (cheaper than Promise.race and a second
      // promise for the timer, on every store call).
      return await new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`store ${operation} timed out after ${limit} ms`)), limit);
        // Promise.resolve: a store that returns a plain value still works (a native promise
        // comes back as it is, at no cost).
        Promise.resolve(call).then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error);
          },
        );
      });
    } catch (error) {
      throw this.#storeFailure(operation, error, request);
    }
  }

  #storeFailure(operation: string, error: unknown, request: RequestInfo | undefined): TesseraError {
    const failure = storeUnavailable(error);
    if (request !== undefined) this.#failed.add(request);
    this.emit('store_error', request, null, null, { operation, errorCode: failure.code });
    return failure;
  }
}

/**
 * Create the session engine: the one object an app keeps and adapters wrap.
 * @throws TesseraError `INVALID_OPTION` for a short secret, an unsafe cookie, or bad durations.
 * @example
 * const sessions = createSessions({ secret: process.env.SESSION_SECRET!, store: new SqliteStore({ database: 'sessions.db' }) });
 */
export function createSessions(options: SessionOptions, extensions?: EngineExtensions): Engine {
  return new Engine(options, extensions);
}
