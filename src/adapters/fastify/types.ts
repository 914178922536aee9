/**
 * The types of `request.session` under `tessera/fastify`: its methods (@fastify/session's and
 * tessera's) and what it needs from its request.
 * @module
 */
import type { RequestSession } from '../../core/request-session.js';
import type { SessionInfo } from '../../core/users.js';
import type { Cookie, CookieInit } from './cookie.js';
import type { FastifyCookieOptions } from './options.js';

/** What a session object needs from the request it belongs to. */
export interface SessionHost {
  readonly rs: RequestSession;
  /** For `secure: 'auto'` cookies: the request's protocol. */
  readonly protocol: string;
  /** The attributes of `request.session.cookie` (before `options(...)`). */
  readonly cookieInit: CookieInit;
  /** What `options(...)` set for this request, merged. */
  overrides: FastifyCookieOptions | undefined;
  /** Make `object` the request's `request.session` (`null` after `destroy()`). */
  replace(object: SessionObject | null): void;
  /** The app saved the session itself. */
  markSaved(): void;
  /** Whether the app saved the session in this request. */
  readonly saved: boolean;
  /**
   * A write the app asked for (`save()`, `regenerate()`) failed and the app was told: the end
   * of the request does not try it again (and turn the app's own answer into an error).
   */
  writeFailed: boolean;
  /** Ask the store for a session that was never stored (`reload()` asks, as @fastify/session's does). */
  readStore(): Promise<void>;
}

/** A callback of @fastify/session's style: an error, or nothing. */
export type Done = ((error?: unknown) => void) | undefined;

/** The methods of `request.session`. Data keys with these names are shadowed, as in @fastify/session. */
export interface SessionMethods {
  /** The session id, also the store key (never the cookie's token: that is only in `Set-Cookie`). */
  readonly sessionId: string;
  /**
   * The session id too. (@fastify/session gives the signed cookie value here; tessera's holds
   * the bearer token, which the app never sees.)
   */
  readonly encryptedSessionId: string;
  /** The cookie view: set `maxAge` or `expires` for a persistent cookie. */
  cookie: Cookie;
  /** A data value. */
  get(key: string): unknown;
  /** Set a data value. */
  set(key: string, value: unknown): void;
  /** Remove a data value. */
  delete(key: string): void;
  /** Extend the cookie's expiry (a persistent cookie) and the idle deadline. */
  touch(): void;
  /** Cookie attributes for this request (`maxAge`, `secure`, `sameSite`, `domain`, `path`, ...). */
  options(opts: FastifyCookieOptions): void;
  /**
   * Replace the session with a new one under a new id, stored at once (as @fastify/session
   * does), keeping the data keys listed in `ignoreFields`; `request.session` is the new one.
   */
  regenerate(callback?: Done): Promise<void>;
  regenerate(ignoreFields: string[], callback?: Done): Promise<void>;
  /** Delete the session and clear the cookie; `request.session` becomes `null`. */
  destroy(callback?: Done): Promise<void>;
  /** Load the session again from the store, dropping unsaved changes. */
  reload(callback?: Done): Promise<void>;
  /** Write the session now (even if unchanged); the end of the request writes only what changed after. */
  save(callback?: Done): Promise<void>;
  /** Whether the data changed since the session was loaded or saved. */
  isModified(): boolean;
  /** Whether the session was saved in this request. */
  isSaved(): boolean;
  /** tessera: sign a user in (new id and token, user index, session limit). */
  signIn(userId: string, options?: { keepData?: boolean | readonly string[] }): Promise<void>;
  /** tessera: sign out (delete, clear the cookie, `Clear-Site-Data`). */
  signOut(): Promise<void>;
  /** tessera: the signed-in user's sessions. */
  listSessions(): Promise<SessionInfo[]>;
  /** tessera: end one of the user's sessions by id. */
  revokeSession(id: string): Promise<boolean>;
  /** tessera: end the user's other sessions. */
  signOutOthers(): Promise<number>;
  /** tessera: end all the user's sessions, this one included. */
  signOutEverywhere(): Promise<number>;
  /** tessera: throws `NOT_FRESH` unless the user signed in within `maxAge` ms. */
  requireFresh(maxAge: number): void;
}

/** `request.session`: data properties plus {@link SessionMethods}. */
export type SessionObject = SessionMethods & Record<string, unknown>;
