/**
 * One Express request's session: the {@link SessionBinding} behind its `req.session` object,
 * the {@link CommitHooks} that save it before the response completes, and the request facts
 * the engine reads ({@link ExpressRequestInfo}).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ResolvedCookieOptions } from '../../core/cookie.js';
import type { Engine, RequestInfo, Transport } from '../../core/engine.js';
import { isLocalhostHeader } from '../../core/request.js';
import { TesseraError, isTesseraError } from '../../core/errors.js';
import type { ResponseHeaders } from '../../core/headers.js';
import type { RequestSession } from '../../core/request-session.js';
import { commitBeforeEnd, type CommitHooks, type Responses } from '../node-response.js';
import type { CookieInit } from './cookie.js';
import { toHashTableMode } from './hidden-class.js';
import type { AdapterSettings } from './options.js';
import { createSessionObject, syncCookie, type SessionBinding, type SessionObject } from './session-object.js';
import { rawHeaderValues } from '../node-headers.js';

/** What every request of one engine shares. */
export interface MiddlewareContext {
  readonly engine: Engine;
  readonly now: () => number;
  readonly saveUninitialized: boolean;
  readonly rolling: boolean;
  readonly settings: AdapterSettings;
}

/** The request as the middleware sees it: Node's, plus what Express adds when present. */
export interface ExpressRequest extends IncomingMessage {
  session?: SessionObject | null | undefined;
  sessionID?: string;
  sessionStore?: unknown;
  tessera?: RequestSession;
  originalUrl?: string;
  secure?: boolean;
  ip?: string;
}

type Next = (error?: unknown) => void;

/** One request's session state, for `req.session` and the response hooks. */
export class RequestBinding implements SessionBinding, CommitHooks {
  readonly now: () => number;
  /** Whether `req.session` was ever read or assigned. */
  made = false;
  /** The app assigned something other than a string to `req.sessionID`: nothing is saved. */
  bogusId = false;
  /**
   * A status request (`sessions.status()`): the session is read, never saved, so the request
   * is not activity; its headers (a rotated token, a cleared cookie) still go out.
   */
  passive = false;
  readonly #accessor: unknown;
  readonly #req: ExpressRequest;
  readonly #res: ServerResponse;
  readonly #context: MiddlewareContext;
  readonly #info: ExpressRequestInfo;
  readonly #next: Next;
  #rs: RequestSession | undefined;
  /** The session object the middleware last made `req.session`. */
  #current: SessionObject | undefined;
  /** What `req.session` holds once made (the app may assign anything). */
  #value: unknown;
  /** When the request began: the creation time of a session made later. */
  readonly #startedAt: number;
  /** The middleware removed `req.session` (`req.session.destroy()`). */
  #removed = false;
  /** The app called `req.session.save()`. */
  #savedByApp = false;
  /** The response is patched to save the session before it ends. */
  #committed = false;

  constructor(req: ExpressRequest, res: ServerResponse, context: MiddlewareContext, info: ExpressRequestInfo, rs: RequestSession | undefined, next: Next, accessor: unknown) {
    this.#req = req;
    this.#res = res;
    this.#context = context;
    this.#info = info;
    this.#rs = rs;
    this.#next = next;
    this.#accessor = accessor;
    this.#startedAt = rs === undefined ? context.now() : 0;
    this.now = context.now;
  }

  /** Attributes for `req.session.cookie`: this request's cookie options. */
  get cookieInit(): CookieInit {
    return cookieInitOf(this.#info.cookieOptions ?? this.#context.engine.options.cookie);
  }

  /** The request's session; for a request without a session cookie, made now. */
  get rs(): RequestSession {
    let rs = this.#rs;
    if (rs === undefined) {
      rs = this.#rs = this.#context.engine.blank(this.#info, this.#startedAt);
      // The headers already went out without a cookie: tell the session, so the save does not
      // create a session no cookie points to.
      if (this.#res.headersSent) rs.responseHeaders(true);
      this.commitBeforeEnd();
    }
    return rs;
  }

  /** `req.session`'s getter. */
  session(): unknown {
    if (!this.made) {
      this.made = true;
      this.#value = this.#current = createSessionObject(this);
    }
    return this.#value;
  }

  /** `req.session`'s setter. */
  assign(value: unknown): void {
    this.made = true;
    this.#value = value;
    // With `unset: 'destroy'`, removing a session the app never read still destroys it (and
    // asks the store, as express-session does), so the end-of-request save must run.
    if (this.#context.settings.unset === 'destroy') this.commitBeforeEnd();
  }

  setSession(object: SessionObject | undefined): void {
    this.made = true;
    this.#current = object;
    this.#value = object;
    this.#removed = object === undefined;
    if (object === undefined) delete this.#req.session;
    else this.#req.session = object;
  }

  markSaved(): void {
    this.#savedByApp = true;
  }

  /**
   * Save the session before the response ends (once). Not on a response that has already
   * ended: that session was made too late to be saved, as it would have been anyway.
   */
  commitBeforeEnd(): void {
    if (this.#committed || this.#res.writableEnded) return;
    this.#committed = true;
    toHashTableMode(this.#res);
    commitBeforeEnd(this.#res, this);
  }

  ending(): void {
    this.#rs?.responseEnding();
  }

  async save(): Promise<void> {
    const rs = this.rs;
    const { unset, resave } = this.#context.settings;
    // A store call already failed in this request and the app answered with an error page:
    // leave that response alone rather than fail a second time over it.
    if (rs.storeFailed && this.#res.statusCode >= 500) return;
    if (this.passive) return;
    // Nothing to save: the app destroyed the session, or gave it an id tessera cannot use.
    if (this.#removed || this.bogusId) return;
    if (this.#unsetByApp()) {
      // The app removed req.session (express-session's `unset`).
      if (unset === 'destroy') await rs.destroy();
      return;
    }
    const current = this.#current;
    if (current !== undefined && syncCookie(current) === 'expired') {
      // An expiry in the past: the session ends and the browser drops its cookie.
      await rs.destroy();
      rs.clearCookie();
      return;
    }
    if (this.#context.rolling) rs.resendCookie();
    // The app saved it already: write again only what changed since (express-session).
    if (this.#savedByApp && !rs.hasUnsavedChanges) return;
    if (resave && !rs.isNew && !this.#savedByApp) rs.forceWrite();
    await rs.save();
  }

  /** Whether the app deleted or replaced `req.session`. */
  #unsetByApp(): boolean {
    const current = this.#current; // undefined: never made
    if (Object.getOwnPropertyDescriptor(this.#req, 'session')?.get === this.#accessor) {
      // Still the accessor: replaced if the app assigned something other than the session.
      return this.made && (current === undefined || this.#value !== current);
    }
    // Deleted, or redefined as a plain property.
    return current === undefined || this.#req.session !== current;
  }

  headers(beforeSave: boolean): ResponseHeaders {
    // `rolling` here too: a streamed response's headers leave before the save.
    if (this.#context.rolling) this.rs.resendCookie();
    return this.rs.responseHeaders(beforeSave);
  }

  /**
   * The save failed. The error goes to the app's error handler through `next(err)`, as
   * express-session does: by default after the response the app wrote has gone out
   * (`saveErrors: 'after-response'`), or before anything is sent (`'instead-of-response'`, and
   * always for errors that are this request's own: `INVALID_DATA`, `DATA_TOO_LARGE`,
   * `SESSION_LIMIT`).
   */
  onError(error: unknown, headersSent: boolean, respond: Responses): void {
    const appError = this.#asAppError(error);
    // Data the app cannot store, or a session limit met at the create: this request's own
    // outcome, not a store failure, so its error handler answers, whatever saveErrors says.
    const ownError = ['INVALID_DATA', 'DATA_TOO_LARGE', 'SESSION_LIMIT'].some((code) => isTesseraError(error, code as 'INVALID_DATA'));
    if (headersSent || (this.#context.settings.saveErrors === 'after-response' && !ownError)) {
      respond.asTheAppWrote();
      setImmediate(() => this.#next(appError));
      return;
    }
    this.#next(appError);
  }

  #asAppError(error: unknown): unknown {
    return withStoreErrorStatus(error, this.#context.settings.errorStatus);
  }
}

/** A `STORE_UNAVAILABLE` error with the status the app asked for (`storeErrorStatus`); any other error as it is. */
export function withStoreErrorStatus(error: unknown, status: number): unknown {
  if (isTesseraError(error, 'STORE_UNAVAILABLE') && status !== error.status) {
    return new TesseraError('STORE_UNAVAILABLE', error.message, { cause: error.cause, status });
  }
  return error;
}

/** `req.session.cookie`'s attributes from resolved cookie options. */
export function cookieInitOf(cookie: ResolvedCookieOptions): CookieInit {
  return {
    path: cookie.path,
    secure: cookie.secure,
    domain: cookie.domain,
    sameSite: cookie.sameSite,
    partitioned: cookie.partitioned,
    ...(cookie.priority !== undefined && { priority: cookie.priority }),
  };
}

/**
 * The request as the engine sees it. Fields that cost something to work out (the client IP
 * through Express's `trust proxy`, HTTPS) are read when the engine first asks: for most
 * requests it never does.
 */
export class ExpressRequestInfo implements RequestInfo {
  cookie: string | undefined;
  readonly userAgent: string | undefined;
  readonly method: string | undefined;
  readonly path: string;
  /** This request's cookie attributes, when they depend on the request. */
  cookieOptions: ResolvedCookieOptions | undefined;
  /** This route's transport, when the app chooses per request. */
  transport: Transport | undefined;
  /** The engine's token header name (lower case): read from the raw headers when first asked for. */
  tokenHeaderName: string = 'authorization';
  readonly #req: ExpressRequest;
  readonly #proxy: boolean | undefined;
  #secure: boolean | undefined;
  /** The token header's values once read (`false`: not read yet); the transport rule asks more than once. */
  #tokenHeader: string[] | undefined | false = false;
  #ip: { value: string | undefined } | undefined;

  constructor(req: ExpressRequest, path: string, proxy: boolean | undefined) {
    this.#req = req;
    this.#proxy = proxy;
    const userAgent = req.headers['user-agent'];
    this.cookie = req.headers.cookie;
    this.userAgent = typeof userAgent === 'string' ? userAgent : undefined;
    this.method = req.method;
    this.path = path;
  }

  get secure(): boolean {
    return (this.#secure ??= isSecure(this.#req, this.#proxy));
  }

  get ip(): string | undefined {
    this.#ip ??= { value: this.#req.ip ?? this.#req.socket?.remoteAddress };
    return this.#ip.value;
  }

  get localhost(): boolean {
    return isLocalhostHeader(this.#req.headers.host);
  }

  /**
   * Every occurrence of the token header, from `req.rawHeaders`: Node keeps only the first
   * `Authorization` in `req.headers`, and a duplicate must be seen to be refused.
   */
  get tokenHeader(): string[] | undefined {
    if (this.#tokenHeader === false) this.#tokenHeader = rawHeaderValues(this.#req, this.tokenHeaderName);
    return this.#tokenHeader;
  }
}

/** Whether the request came over HTTPS, honouring the `proxy` option as express-session does. */
function isSecure(req: ExpressRequest, proxy: boolean | undefined): boolean {
  const encrypted = Boolean((req.socket as TLSSocket | undefined)?.encrypted);
  if (proxy === false) return encrypted;
  if (proxy === undefined) return req.secure ?? encrypted;
  if (encrypted) return true;
  return forwardedProto(req) === 'https';
}

/** The first `X-Forwarded-Proto` value, lower-cased, if any. */
export function forwardedProto(req: IncomingMessage): string | undefined {
  const header = req.headers['x-forwarded-proto'];
  return (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
}

/** The original URL's path (an app may rewrite `req.url`); an empty one is `/`, as in express-session. */
export function pathOf(req: ExpressRequest): string {
  const url = req.originalUrl || req.url || '/';
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)) || '/';
}
