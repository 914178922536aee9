/**
 * The session engine: the one object an app keeps and adapters wrap. It loads each request's
 * {@link RequestSession} and offers the administrator's controls. Framework-free: adapters
 * translate their request into a {@link RequestInfo} and apply the returned headers.
 *
 * What an app can reach from here is what it may use: the store gateway, the event emitter and
 * the key ring live in a private context that no public name leads to.
 * @module
 */
import { createContext, type LegacySource, type SessionContext } from './context.js';
import { readCookie } from './cookie-reader.js';
import { readEndReason, rememberEnded, type EndReason } from './ended.js';
import { loadSession } from './load.js';
import { resolveOptions, type ResolveHints, type ResolvedOptions, type SessionOptions } from './options.js';
import type { RequestInfo } from './request.js';
import { RequestSession, createRequestSession } from './request-session.js';
import { statusResponse, type StatusResponse } from './status.js';
import { readSessionToken } from './transport.js';
import * as users from './users.js';
import type { SessionInfo } from './users.js';

export type { LegacySource } from './context.js';
export type { RequestInfo } from './request.js';
export type { EndReason } from './ended.js';
export type { SessionStatus, StatusResponse } from './status.js';
export type { Transport, RequestTransport } from './transport.js';

/** Extension points for adapters. */
export interface EngineExtensions {
  /** Accept express-session `s:<sid>.<sig>` cookies and migrate their sessions. */
  legacy?: LegacySource;
  /** How the adapter derived some options (see {@link ResolveHints}). */
  hints?: ResolveHints;
}

/** The settings an engine runs with, after defaults (durations in ms). No secret, store or listener. */
export type EngineSettings = Readonly<Omit<ResolvedOptions, 'keyRing' | 'store' | 'onEvent'>>;

let contextOf: (engine: Engine) => SessionContext;

/** The private context of an engine, for the package's own adapters. Not exported from the package. */
export function internals(engine: Engine): SessionContext {
  return contextOf(engine);
}

/** The engine behind {@link createSessions}. */
export class Engine {
  /** The settings in force: timeouts, cookie attributes, policies. */
  readonly options: EngineSettings;
  readonly #ctx: SessionContext;

  static {
    contextOf = (engine) => engine.#ctx;
  }

  /** @throws TesseraError `INVALID_OPTION` for a short secret, an unsafe cookie, or bad durations. */
  constructor(options: SessionOptions, extensions: EngineExtensions = {}) {
    const resolved = resolveOptions(options, extensions.hints);
    this.#ctx = createContext(resolved, extensions.legacy);
    const { keyRing: _keyRing, store: _store, onEvent: _onEvent, ...settings } = resolved;
    this.options = Object.freeze(settings);
  }

  /**
   * The session of a request. A missing, malformed, forged, unknown, expired or replayed cookie
   * gives a new empty session (and an event); only a store failure throws.
   * @throws TesseraError `STORE_UNAVAILABLE`.
   */
  async load(request: RequestInfo): Promise<RequestSession> {
    return createRequestSession(this.#ctx, request, await loadSession(this.#ctx, request));
  }

  /**
   * Whether a request presents a session cookie at all. Without one, {@link load} needs no
   * store call and {@link blank} gives the same new, empty session synchronously.
   */
  hasCookie(request: RequestInfo): boolean {
    return readCookie(request.cookie, this.#ctx.options.cookie.name).kind !== 'absent';
  }

  /**
   * Whether a request presents a session token where its transport says to look (the cookie,
   * or the token header: see `transport`). Without one, {@link load} needs no store call and
   * {@link blank} gives the same new, empty session synchronously.
   */
  hasCredential(request: RequestInfo): boolean {
    const options = this.#ctx.options;
    return readSessionToken(options, options.cookie.name, request).kind !== 'absent';
  }

  /**
   * The new, empty session of a request without a session cookie (see {@link hasCookie}), as
   * {@link load} gives it. Adapters use it to make the session only when the app first uses it.
   * @param at when the request began (ms since epoch): the session's creation time.
   */
  blank(request: RequestInfo, at: number = this.#ctx.options.now()): RequestSession {
    return createRequestSession(this.#ctx, request, { kind: 'new', cookie: 'none' }, at);
  }

  /**
   * Answer a session status request (for `tessera/browser`'s `watchSession`): JSON with whether
   * a user is signed in, the idle and absolute deadlines and the server's `now`, with
   * `Cache-Control: no-store` and never the token. It reads the session and writes nothing, so
   * polling it does not keep a session alive. Send `status`, `headers` and `body` as they are.
   * @throws TesseraError `STORE_UNAVAILABLE`.
   */
  async status(request: RequestInfo): Promise<StatusResponse> {
    const rs = await this.load(request);
    return statusResponse(rs, request, this.#ctx.options.now());
  }

  /**
   * Answer a keep-alive request: the user is active (the "stay signed in" button, or activity
   * the page saw), so the idle deadline is extended, at most once per `touchInterval` like any
   * request, and the status is returned as by {@link status}.
   * @throws TesseraError `STORE_UNAVAILABLE`.
   */
  async keepAlive(request: RequestInfo): Promise<StatusResponse> {
    const rs = await this.load(request);
    await rs.save();
    return statusResponse(rs, request, this.#ctx.options.now());
  }

  /**
   * Why the session of a request's browser recently ended, from its end-reason cookie (set for
   * 5 min when the server ended a signed-in session), or `null`. For a sign-in page that says
   * "you were signed out after 30 minutes without activity".
   */
  endReason(request: Pick<RequestInfo, 'cookie'>): EndReason | null {
    return readEndReason(request.cookie);
  }

  /** The live sessions of a user, for admin screens. */
  async listUserSessions(userId: string): Promise<SessionInfo[]> {
    return users.listSessions(this.#ctx, userId, undefined, null);
  }

  /**
   * End every session of a user (an account disabled or deleted: ASVS V7.4.2).
   * @returns how many were ended.
   */
  async revokeUser(userId: string): Promise<number> {
    const keys = typeof userId === 'string' && userId !== '' ? (await users.liveSessions(this.#ctx, userId, undefined)).map((entry) => entry.key) : [];
    const count = await users.revokeUser(this.#ctx, userId, undefined, undefined, 'admin');
    rememberEnded(this.#ctx, keys, 'admin');
    return count;
  }

  /** End one session of a user by its id (the `id` of a session list). @returns whether one was ended. */
  async revokeOne(userId: string, id: string): Promise<boolean> {
    const ended = await users.revokeOne(this.#ctx, userId, id, undefined);
    if (ended) rememberEnded(this.#ctx, [id], 'admin');
    return ended;
  }

  /**
   * End every session of every user (an administrator's "log everyone out"), on stores that
   * implement `deleteAll` (memory, SQLite, PostgreSQL, MySQL). On any store, removing every
   * old secret from the key ring does the same.
   * @throws TesseraError `INVALID_OPTION` when the store cannot delete everything.
   * @returns how many sessions were ended.
   */
  async revokeAllSessions(): Promise<number> {
    return users.revokeAll(this.#ctx);
  }

  /** The short HMAC reference of a session id, as events and logs show it. */
  reference(id: string): string {
    return this.#ctx.reference(id);
  }

  /** Release the store. */
  async close(): Promise<void> {
    await this.#ctx.gateway.close();
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
