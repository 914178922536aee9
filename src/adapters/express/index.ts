/**
 * `tessera/express`: a drop-in for express-session. `require('tessera/express')` is the
 * `session(options)` function, with `session.Store`, `session.MemoryStore`, `session.Cookie`
 * and `session.Session` on it, so switching is one line.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createSessions, type Engine, type LegacySource, type RequestInfo } from '../../core/engine.js';
import { TesseraError, isTesseraError } from '../../core/errors.js';
import type { SessionData } from '../../core/handle.js';
import type { RequestSession, ResponseHeaders } from '../../core/request-session.js';
import { LegacyStore, type ExpressSessionStore } from '../../store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../store/memory.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { commitBeforeEnd, type CommitHooks } from '../node-response.js';
import { Cookie, type CookieInit } from './cookie.js';
import { isTesseraStore, toEngineOptions, type ExpressSessionOptions } from './options.js';
import { Session, createSessionObject, syncCookie, type SessionBinding, type SessionObject } from './session-object.js';
import { MemoryStore, Store } from './store.js';
import { requireFresh } from './guards.js';
import { createCsrf, type CsrfOptions } from './csrf.js';

/**
 * Where a request keeps its {@link RequestState}, for the shared accessors below. A property
 * rather than a WeakMap keyed by the request: a WeakMap entry costs a request about 7 µs here
 * (the key needs an identity hash, and the entry is an ephemeron the GC must trace).
 */
const STATE = Symbol('tessera.express');

function stateOf(req: ExpressRequest): RequestState {
  const state = req[STATE];
  if (state === undefined) throw new TesseraError('SESSION_ENDED', 'This request has no tessera session');
  return state;
}

/**
 * `req.session`, `req.tessera` and `req.sessionID` are accessors that make the session on first
 * use: a request that carries no session cookie and never looks at its session (static files,
 * health checks, most anonymous traffic) costs no session objects at all.
 *
 * Each is one descriptor whose functions every request shares. A fresh getter closure per
 * request would give each `req` its own hidden class, and V8 then turns every request object
 * into a slow dictionary-mode object, which every later property access in Express pays for.
 *
 * Even so, adding a property to an Express request or response is costly (see
 * {@link toHashTableMode}), so the middleware adds only the four express-session's API needs
 * and its own state, and patches the response (`end`, `writeHead`) only once a session exists.
 */
const SESSION: PropertyDescriptor = {
  get(this: ExpressRequest) {
    return stateOf(this).session();
  },
  set(this: ExpressRequest, value: unknown) {
    stateOf(this).assign(value);
  },
  configurable: true,
  enumerable: true,
};

const TESSERA: PropertyDescriptor = {
  get(this: ExpressRequest) {
    return stateOf(this).rs;
  },
  set(this: ExpressRequest, value: unknown) {
    Object.defineProperty(this, 'tessera', { value, writable: true, configurable: true, enumerable: true });
  },
  configurable: true,
  enumerable: true,
};

/** `req.sessionID`: read-only, the session's id. */
const SESSION_ID: PropertyDescriptor = {
  get(this: ExpressRequest) {
    return stateOf(this).rs.id;
  },
  set() {},
  configurable: true,
  enumerable: true,
};

/** The request as the middleware sees it: Node's, plus what Express adds when present. */
interface ExpressRequest extends IncomingMessage {
  [STATE]?: RequestState;
  session?: SessionObject | null | undefined;
  sessionID?: string;
  sessionStore?: unknown;
  tessera?: RequestSession;
  originalUrl?: string;
  secure?: boolean;
  ip?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /**
       * tessera's full session API for this request (set by `tessera/express`): `signIn`,
       * `signOut`, `listSessions`, `requireFresh`, deadlines, ... `req.session` keeps
       * express-session's shape (type it with `@types/express-session`).
       */
      tessera: RequestSession;
      /** The session's CSRF token for forms; set by `sessions.csrf()` (see `tessera/express`). */
      csrfToken?: () => string;
    }
  }
}

/** The middleware `session()` returns. */
export type SessionMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => Promise<void> | undefined) & {
  /** The engine, for admin calls (`listUserSessions`, `revokeUser`) and `close()`. */
  readonly engine: Engine;
  /**
   * CSRF middleware for these sessions; mount it after the session middleware. Refuses
   * cross-site state-changing requests (`CROSS_SITE`, 403) and adds `req.csrfToken()`.
   */
  csrf(options?: CsrfOptions): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
};

/** `session(options)`: the middleware factory, with express-session's statics. */
export interface SessionFunction {
  (options: ExpressSessionOptions): SessionMiddleware;
  /** Base class of express-session stores. */
  Store: typeof Store;
  /** express-session's memory store API, bounded. */
  MemoryStore: typeof MemoryStore;
  /** The class of `req.session.cookie`. */
  Cookie: typeof Cookie;
  /** The constructor of `req.session` objects: not callable, but `req.session instanceof session.Session` holds. */
  Session: typeof Session;
  /** Express middleware: 403 `NOT_FRESH` unless the user signed in within `maxAge` ms. */
  requireFresh: typeof requireFresh;
}

/**
 * Create the session middleware.
 * @throws TesseraError `INVALID_OPTION` for a missing or short secret, or unsafe cookie settings.
 * @example
 * const session = require('tessera/express');
 * app.use(session({ secret: process.env.SESSION_SECRET, name: '__Host-sid', cookie: { secure: true } }));
 */
function session(options: ExpressSessionOptions): SessionMiddleware {
  const given = options?.store;
  // Wrapped express-session stores share the session clock (expiry of records and old sessions).
  const legacyOptions = options?.now ? { now: options.now } : {};
  const legacyStore = given !== undefined && !isTesseraStore(given) ? new LegacyStore(given, legacyOptions) : undefined;
  const store: TesseraStore = legacyStore ?? (isTesseraStore(given) ? given : defaultStore(options?.now));
  const migrateFrom = legacyStore ?? (options?.migrateFrom ? new LegacyStore(options.migrateFrom, legacyOptions) : undefined);
  const engine = createSessions(toEngineOptions(options, store), migrateFrom ? { legacy: legacySource(migrateFrom) } : {});
  const cookieOptions = engine.options.cookie;
  const cookieInit: CookieInit = {
    path: cookieOptions.path,
    secure: cookieOptions.secure,
    domain: cookieOptions.domain,
    sameSite: cookieOptions.sameSite,
    partitioned: cookieOptions.partitioned,
    ...(cookieOptions.priority !== undefined && { priority: cookieOptions.priority }),
  };
  const context: MiddlewareContext = {
    engine,
    cookieInit,
    now: engine.options.now,
    resave: options.resave ?? false,
    rolling: options.rolling ?? false,
    unset: options.unset ?? 'keep',
    errorStatus: options.storeErrorStatus ?? 503,
  };
  const sessionStore = given ?? store;

  const attach = (req: ExpressRequest, res: ServerResponse, info: ExpressRequestInfo, rs: RequestSession | undefined): void => {
    const state = new RequestState(req, res, context, info, rs);
    toHashTableMode(req);
    req[STATE] = state;
    Object.defineProperty(req, 'session', SESSION);
    Object.defineProperty(req, 'tessera', TESSERA);
    req.sessionStore = sessionStore;
    Object.defineProperty(req, 'sessionID', SESSION_ID);
    // A loaded session may need saving untouched (the idle deadline, a new token, a stale
    // cookie to clear), as may a new one under saveUninitialized. Otherwise the response is
    // patched when the session is made, if ever.
    if (rs !== undefined || engine.options.saveUninitialized) state.commitBeforeEnd();
  };
  const loadThenAttach = async (req: ExpressRequest, res: ServerResponse, info: ExpressRequestInfo, next: (error?: unknown) => void) => {
    let rs: RequestSession;
    try {
      rs = await engine.load(info);
    } catch (error) {
      return next(error);
    }
    attach(req, res, info, rs);
    next();
  };

  // Not an async function: a request without a session cookie needs no store call, and goes on
  // at once (no promise for Express to wait on).
  const middleware = (incoming: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> | undefined => {
    const req = incoming as ExpressRequest;
    if (hasSession(req)) return void next();
    const path = pathOf(req);
    if (!path.startsWith(cookieOptions.path)) return void next();
    const info = new ExpressRequestInfo(req, path, options.proxy);
    if (engine.hasCookie(info)) return loadThenAttach(req, res, info, next);
    // Without a session cookie there is nothing to look up: the session is made on first use.
    attach(req, res, info, undefined);
    next();
    return undefined;
  };
  return Object.assign(middleware, { engine, csrf: (csrfOptions?: CsrfOptions) => createCsrf(engine, csrfOptions) });
}

const SCRATCH_A = Symbol('tessera.scratch.a');
const SCRATCH_B = Symbol('tessera.scratch.b');

/**
 * Switch an Express request or response to V8's hash-table ("dictionary") property storage
 * before adding properties to it, by deleting a property that is not the last one added.
 *
 * Why: Express gives every request and response its app's prototype (`Object.setPrototypeOf`),
 * and V8 then shares no hidden class between them: each property added afterwards (ours, then
 * Express's own `params`, `route`, `baseUrl`, ... as the router runs) builds a new hidden class,
 * about 2 µs each plus old-space garbage. In hash-table mode an added property is a table
 * insert. Measured on this repository's benchmark (bench/NOTES.md): four properties cost a
 * request about 9 µs the first way and 2-3 µs this way, reads included. Nothing observable
 * changes: the scratch properties are symbols, and both are gone again.
 */
function toHashTableMode(target: object): void {
  const scratch = target as Record<symbol, unknown>;
  scratch[SCRATCH_A] = 0;
  scratch[SCRATCH_B] = 0;
  delete scratch[SCRATCH_A];
  delete scratch[SCRATCH_B];
}

/** What every request of one middleware shares. */
interface MiddlewareContext {
  readonly engine: Engine;
  readonly cookieInit: CookieInit;
  readonly now: () => number;
  readonly resave: boolean;
  readonly rolling: boolean;
  readonly unset: 'keep' | 'destroy';
  readonly errorStatus: number;
}

/** Whether an earlier session middleware (this one mounted twice, or another) already ran. */
function hasSession(req: ExpressRequest): boolean {
  const state = req[STATE];
  if (state !== undefined && !state.made && Object.getOwnPropertyDescriptor(req, 'session')?.get === SESSION.get) return true;
  return Boolean(req.session);
}

/**
 * One request's session state: the {@link SessionBinding} of its `req.session` object and the
 * {@link CommitHooks} that save it before the response ends.
 */
class RequestState implements SessionBinding, CommitHooks {
  readonly cookieInit: CookieInit;
  readonly now: () => number;
  /** Whether `req.session` was ever read or assigned. */
  made = false;
  readonly #req: ExpressRequest;
  readonly #res: ServerResponse;
  readonly #context: MiddlewareContext;
  readonly #info: ExpressRequestInfo;
  #rs: RequestSession | undefined;
  /** The session object the middleware last made `req.session`. */
  #current: SessionObject | undefined;
  /** What `req.session` holds once made (the app may assign anything). */
  #value: unknown;
  /** When the request began: the creation time of a session made later. */
  readonly #startedAt: number;
  /** The middleware removed `req.session` (`req.session.destroy()`). */
  #removed = false;
  /** The response is patched to save the session before it ends. */
  #committed = false;

  constructor(req: ExpressRequest, res: ServerResponse, context: MiddlewareContext, info: ExpressRequestInfo, rs: RequestSession | undefined) {
    this.#req = req;
    this.#res = res;
    this.#context = context;
    this.#info = info;
    this.#rs = rs;
    this.#startedAt = rs === undefined ? context.now() : 0;
    this.cookieInit = context.cookieInit;
    this.now = context.now;
  }

  /** The request's session; for a request without a session cookie, made now. */
  get rs(): RequestSession {
    let rs = this.#rs;
    if (rs === undefined) {
      rs = this.#rs = this.#context.engine.blank(this.#info, this.#startedAt);
      if (this.#res.headersSent) {
        // The headers already went out without a cookie: as for a session that existed then,
        // tell it so, and it will not be created where no cookie can point to it.
        rs.responseHeaders(true);
      }
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
  }

  setSession(object: SessionObject | undefined): void {
    this.made = true;
    this.#current = object;
    this.#removed = object === undefined;
    if (object === undefined) delete this.#req.session;
    else this.#req.session = object;
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

  async save(): Promise<void> {
    const rs = this.rs;
    const { unset, resave, rolling } = this.#context;
    // A store call already failed in this request and the app answered with an error page:
    // leave that response alone rather than fail a second time over it. (An app that answers
    // success despite the failure gets one more save attempt, and a 503 if it fails too.)
    if (rs.storeFailed && this.#res.statusCode >= 500) return;
    if (this.#unsetByApp()) {
      // The app removed req.session (express-session's `unset`).
      if (unset === 'destroy') await rs.destroy();
      return;
    }
    const current = this.#current;
    if (current !== undefined) syncCookie(current);
    if (resave && !rs.isNew) rs.forceWrite();
    if (rolling) rs.resendCookie();
    await rs.save();
  }

  /** Whether the app deleted or replaced `req.session`. */
  #unsetByApp(): boolean {
    if (this.#removed) return false; // req.session.destroy() removed it
    const current = this.#current; // undefined: never made
    if (Object.getOwnPropertyDescriptor(this.#req, 'session')?.get === SESSION.get) {
      // Still the accessor: replaced if the app assigned something other than the session.
      return this.made && (current === undefined || this.#value !== current);
    }
    // Deleted, or redefined as a plain property.
    return current === undefined || this.#req.session !== current;
  }

  headers(beforeSave: boolean): ResponseHeaders {
    return this.rs.responseHeaders(beforeSave);
  }

  onSaveError(error: unknown): number {
    return isTesseraError(error) ? (error.code === 'STORE_UNAVAILABLE' ? this.#context.errorStatus : error.status) : 500;
  }
}

/**
 * The request as the engine sees it. Fields that cost something to work out (the client IP
 * through Express's `trust proxy`, HTTPS) are read when the engine first asks: for most
 * requests it never does.
 */
class ExpressRequestInfo implements RequestInfo {
  readonly cookie: string | undefined;
  readonly userAgent: string | undefined;
  readonly method: string | undefined;
  readonly path: string;
  readonly #req: ExpressRequest;
  readonly #proxy: boolean | undefined;
  #secure: boolean | undefined;
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
}

/** The express-session migration source over a legacy store. */
function legacySource(store: LegacyStore): LegacySource {
  return {
    async load(sid) {
      const stored = await store.getLegacy(sid);
      if (stored === null) return null;
      const { cookie: _cookie, ...data } = stored;
      return data as SessionData;
    },
    remove: (sid) => store.deleteLegacy(sid),
  };
}

/** The store used when none is given: in memory, on the session clock. */
function defaultStore(now: (() => number) | undefined): TesseraStore {
  if (process.env['NODE_ENV'] === 'production') {
    process.emitWarning(
      'tessera: no store was given, so sessions live in this process only and are lost on restart. ' +
        'Pass a SqliteStore or a server store in production.',
      { code: 'TESSERA_MEMORY_STORE' },
    );
  }
  return new TesseraMemoryStore(now === undefined ? {} : { now });
}

/** Whether the request came over HTTPS, honouring the `proxy` option as express-session does. */
function isSecure(req: ExpressRequest, proxy: boolean | undefined): boolean {
  const encrypted = Boolean((req.socket as TLSSocket | undefined)?.encrypted);
  if (proxy === false) return encrypted;
  if (proxy === undefined) return req.secure ?? encrypted;
  if (encrypted) return true;
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

/** The original URL's path (an app may rewrite `req.url`); an empty one is `/`, as in express-session. */
function pathOf(req: ExpressRequest): string {
  const url = req.originalUrl || req.url || '/';
  const query = url.indexOf('?');
  return (query === -1 ? url : url.slice(0, query)) || '/';
}

const exported = Object.assign(session, { Store, MemoryStore, Cookie, Session, requireFresh }) as SessionFunction;

export default exported;

export type { ExpressSessionOptions, SessionObject, CookieInit, ExpressSessionStore, CsrfOptions };
