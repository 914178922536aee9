/**
 * `tessera/express`: a drop-in for express-session. `require('tessera/express')` is the
 * `session(options)` function, with `session.Store`, `session.MemoryStore`, `session.Cookie`
 * and `session.Session` on it, so switching is one line.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSessions, internals, type Engine } from '../../core/engine.js';
import { TesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../store/memory.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { ExpressRequestInfo, RequestBinding, pathOf, type ExpressRequest, type MiddlewareContext } from './binding.js';
import { Cookie, type CookieInit } from './cookie.js';
import { createCsrf, type CsrfOptions } from './csrf.js';
import { requireFresh } from './guards.js';
import { toHashTableMode } from './hidden-class.js';
import { storeSetup } from './migration.js';
import { mapOptions, type ExpressSessionOptions } from './options.js';
import { Session, type SessionObject } from './session-object.js';
import { MemoryStore, Store } from './store.js';

/**
 * Where a request keeps its {@link RequestBinding}, for the shared accessors below. A property
 * rather than a WeakMap keyed by the request: a WeakMap entry costs a request about 7 µs here
 * (the key needs an identity hash, and the entry is an ephemeron the GC must trace).
 */
const STATE = Symbol('tessera.express');

interface BoundRequest extends ExpressRequest {
  [STATE]?: RequestBinding;
}

function bindingOf(req: BoundRequest): RequestBinding {
  const binding = req[STATE];
  if (binding === undefined) throw new TesseraError('SESSION_ENDED', 'This request has no tessera session');
  return binding;
}

/**
 * `req.session`, `req.tessera` and `req.sessionID` are accessors that make the session on first
 * use: a request that carries no session cookie and never looks at its session (static files,
 * health checks, most anonymous traffic) costs no session objects at all.
 *
 * Each is one descriptor whose functions every request shares: a fresh getter closure per
 * request would give each `req` its own hidden class (see `./hidden-class.js`).
 */
const SESSION: PropertyDescriptor = {
  get(this: BoundRequest) {
    return bindingOf(this).session();
  },
  set(this: BoundRequest, value: unknown) {
    bindingOf(this).assign(value);
  },
  configurable: true,
  enumerable: true,
};

const TESSERA: PropertyDescriptor = {
  get(this: BoundRequest) {
    return bindingOf(this).rs;
  },
  set(this: BoundRequest, value: unknown) {
    Object.defineProperty(this, 'tessera', { value, writable: true, configurable: true, enumerable: true });
  },
  configurable: true,
  enumerable: true,
};

/** `req.sessionID`: read-only, the session's id. */
const SESSION_ID: PropertyDescriptor = {
  get(this: BoundRequest) {
    return bindingOf(this).rs.id;
  },
  set() {},
  configurable: true,
  enumerable: true,
};

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
 * @throws TesseraError `INVALID_OPTION` for a missing or short secret, unsafe cookie settings,
 * an unknown option or a value of the wrong kind.
 * @example
 * const session = require('tessera/express');
 * app.use(session({ secret: process.env.SESSION_SECRET, name: '__Host-sid', cookie: { secure: true } }));
 */
function session(options: ExpressSessionOptions): SessionMiddleware {
  const mapped = mapOptions(options);
  const { store, legacy } = storeSetup(options.store, options.migrateFrom, () => defaultStore(options.now), options.now);
  const engine = createSessions({ ...mapped.engine, store }, { ...(legacy && { legacy }), hints: { derived: mapped.derived } });
  const settings = engine.options;
  const cookie = settings.cookie;
  const cookieInit: CookieInit = {
    path: cookie.path,
    secure: cookie.secure,
    domain: cookie.domain,
    sameSite: cookie.sameSite,
    partitioned: cookie.partitioned,
    ...(cookie.priority !== undefined && { priority: cookie.priority }),
  };
  const context: MiddlewareContext = {
    engine,
    cookieInit,
    now: settings.now,
    saveUninitialized: settings.saveUninitialized,
    rolling: settings.rolling,
    settings: mapped.adapter,
  };
  const sessionStore = options.store ?? store;

  const attach = (req: BoundRequest, res: ServerResponse, info: ExpressRequestInfo, rs: RequestSession | undefined, next: (error?: unknown) => void): void => {
    const binding = new RequestBinding(req, res, context, info, rs, next, SESSION.get);
    toHashTableMode(req);
    req[STATE] = binding;
    Object.defineProperty(req, 'session', SESSION);
    Object.defineProperty(req, 'tessera', TESSERA);
    req.sessionStore = sessionStore;
    Object.defineProperty(req, 'sessionID', SESSION_ID);
    // A loaded session may need saving untouched (the idle deadline, a new token, a stale
    // cookie to clear), as may a new one under saveUninitialized. Otherwise the response is
    // patched when the session is made, if ever.
    if (rs !== undefined || context.saveUninitialized) binding.commitBeforeEnd();
  };
  const loadThenAttach = async (req: BoundRequest, res: ServerResponse, info: ExpressRequestInfo, next: (error?: unknown) => void) => {
    let rs: RequestSession;
    try {
      rs = await engine.load(info);
    } catch (error) {
      return next(error);
    }
    attach(req, res, info, rs, next);
    next();
  };

  // Not an async function: a request without a session cookie needs no store call, and goes on
  // at once (no promise for Express to wait on).
  const middleware = (incoming: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> | undefined => {
    const req = incoming as BoundRequest;
    if (hasSession(req)) return void next();
    const path = pathOf(req);
    if (!path.startsWith(cookie.path)) return void next();
    const info = new ExpressRequestInfo(req, path, mapped.adapter.proxy);
    if (engine.hasCookie(info)) return loadThenAttach(req, res, info, next);
    // Without a session cookie there is nothing to look up: the session is made on first use.
    attach(req, res, info, undefined, next);
    next();
    return undefined;
  };
  const referenceKey = internals(engine).keyRing.referenceKey;
  return Object.assign(middleware, { engine, csrf: (csrfOptions?: CsrfOptions) => createCsrf(referenceKey, csrfOptions) });
}

/** Whether an earlier session middleware (this one mounted twice, or another) already ran. */
function hasSession(req: BoundRequest): boolean {
  const binding = req[STATE];
  if (binding !== undefined && !binding.made && Object.getOwnPropertyDescriptor(req, 'session')?.get === SESSION.get) return true;
  return Boolean(req.session);
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

const exported = Object.assign(session, { Store, MemoryStore, Cookie, Session, requireFresh }) as SessionFunction;

export default exported;

export type { ExpressSessionOptions, SessionObject, CookieInit, ExpressSessionStore, CsrfOptions };
