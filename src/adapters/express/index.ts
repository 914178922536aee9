/**
 * `tessera/express`: a drop-in for express-session. `require('tessera/express')` is the
 * `session(options)` function, with `session.Store`, `session.MemoryStore`, `session.Cookie`
 * and `session.Session` on it, so switching is one line.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSessions, internals, type Engine } from '../../core/engine.js';
import { TesseraError } from '../../core/errors.js';
import type { SecretInput } from '../../core/keyring.js';
import type { RequestSession } from '../../core/request-session.js';
import { isLoopbackAddress, isLoopbackHostHeader } from '../../core/request.js';
import { transportOf } from '../../core/transport.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../store/memory.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { ExpressRequestInfo, RequestBinding, forwardedProto, pathOf, withStoreErrorStatus, type ExpressRequest, type MiddlewareContext } from './binding.js';
import { Cookie, type CookieInit } from './cookie.js';
import { createCsrf, type CsrfOptions } from './csrf.js';
import { requireFresh } from './guards.js';
import { toHashTableMode } from './hidden-class.js';
import { storeSetup } from './migration.js';
import { isTesseraStore, mapOptions, type ExpressSessionOptions, type MappedOptions } from './options.js';
import { Session, type SessionObject } from './session-object.js';
import { statusRoutes } from './status.js';
import { MemoryStore, Store } from './store.js';
import type { TesseraSessionMethods } from './types.js';

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

/**
 * `req.sessionID`: the session's id. An app cannot choose it (ids are random); assigning
 * something other than a string means, as in express-session, that nothing is saved.
 */
const SESSION_ID: PropertyDescriptor = {
  get(this: BoundRequest) {
    return bindingOf(this).rs.id;
  },
  set(this: BoundRequest, value: unknown) {
    if (typeof value !== 'string') bindingOf(this).bogusId = true;
  },
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
       * express-session's type (from `@types/express-session`, a dependency of tessera) with
       * tessera's methods added ({@link TesseraSessionMethods}).
       */
      tessera: RequestSession;
      /**
       * The session's CSRF token for forms; set by `sessions.csrf()` (see `tessera/express`).
       * Typed as always there, as for other CSRF middleware: mount `csrf()` where forms need it.
       */
      csrfToken: () => string;
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
  /**
   * Route handler for session status requests (`tessera/browser`'s `statusUrl`):
   * `app.get('/session/status', sessions.status())`. Answers JSON (`signedIn`, `now`,
   * `idleExpiresAt`, `absoluteExpiresAt`, `endReason`; times in ms since epoch) with
   * `Cache-Control: no-store` and no token. It never saves the session: polling it is not
   * activity and does not keep a session alive.
   */
  status(): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => Promise<void>;
  /**
   * Route handler for keep-alive requests (`tessera/browser`'s `keepAliveUrl`, "stay signed
   * in"): `app.post('/session/keep-alive', sessions.keepAlive())`. Extends the idle deadline, at
   * most once per `touchInterval`, and answers as {@link status}.
   */
  keepAlive(): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => Promise<void>;
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
 * @throws TesseraError `INVALID_OPTION` for a weak secret in production, unsafe cookie settings,
 * an unknown option or a value of the wrong kind.
 * @example
 * const session = require('tessera/express');
 * app.use(session({ secret: process.env.SESSION_SECRET, name: '__Host-sid', cookie: { secure: true } }));
 */
function session(options: ExpressSessionOptions): SessionMiddleware {
  const mapped = mapOptions(options);
  const { store, legacy } = storeSetup(options.store, options.migrateFrom, () => defaultStore(options.now), options.now);
  const build = (secret: SecretInput): Engine =>
    createSessions({ ...mapped.engine, secret, store }, { ...(legacy && { legacy }), hints: { derived: mapped.derived } });
  const engines = new EngineHolder(mapped.engine.secret === undefined ? undefined : build(mapped.engine.secret), build);
  const sessionStore = options.store ?? store;
  const connection = watchConnection(options.store);
  const warnings = new SetupWarnings();

  const attach = (req: BoundRequest, res: ServerResponse, context: MiddlewareContext, info: ExpressRequestInfo, rs: RequestSession | undefined, next: (error?: unknown) => void): void => {
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
  const loadThenAttach = async (req: BoundRequest, res: ServerResponse, context: MiddlewareContext, info: ExpressRequestInfo, next: (error?: unknown) => void) => {
    let rs: RequestSession;
    try {
      rs = await context.engine.load(info);
    } catch (error) {
      return next(withStoreErrorStatus(error, mapped.adapter.errorStatus));
    }
    attach(req, res, context, info, rs, next);
    next();
  };

  // Not an async function: a request without a session cookie needs no store call, and goes on
  // at once (no promise for Express to wait on).
  const middleware = (incoming: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> | undefined => {
    const req = incoming as BoundRequest;
    if (hasSession(req)) return void next();
    // express-session: while the store says it is disconnected, requests get no session.
    if (!connection.ready) return void next();
    let context: MiddlewareContext;
    let info: ExpressRequestInfo;
    try {
      context = engines.contextFor(req, mapped);
      const path = pathOf(req);
      info = new ExpressRequestInfo(req, path, mapped.adapter.proxy);
      info.cookieOptions = mapped.cookieFor?.(req, info.secure);
      info.tokenHeaderName = context.engine.options.tokenHeader;
      info.transport = mapped.transportFor?.(req);
      if (!path.startsWith((info.cookieOptions ?? context.engine.options.cookie).path)) return void next();
    } catch (error) {
      return void next(error);
    }
    if (!context.engine.hasCookie(info)) fromCookieParser(req, info, context.engine);
    // A header client gets no cookie, so a Secure cookie withheld over HTTP is nothing to warn about.
    if (transportOf(context.engine.options, info) === 'cookie') warnings.check(req, info, context.engine);
    if (context.engine.hasCredential(info)) return loadThenAttach(req, res, context, info, next);
    // Without a session cookie there is nothing to look up: the session is made on first use.
    attach(req, res, context, info, undefined, next);
    next();
    return undefined;
  };
  const csrfKey = (req: IncomingMessage): Buffer => internals(engines.engineOf(req)).keyRing.referenceKey;
  const routes = statusRoutes((req) => (req as BoundRequest)[STATE], mapped.adapter.errorStatus);
  return Object.defineProperties(middleware, {
    engine: { get: () => engines.defaultEngine(), enumerable: true },
    csrf: { value: (csrfOptions?: CsrfOptions) => createCsrf(csrfKey, csrfOptions), enumerable: true },
    status: { value: routes.status, enumerable: true },
    keepAlive: { value: routes.keepAlive, enumerable: true },
  }) as SessionMiddleware;
}

/**
 * The engine of a middleware: made at construction from the `secret` option, or (when the app
 * gave none, as express-session allows) on the first request from `req.secret`, which
 * cookie-parser sets.
 */
class EngineHolder {
  readonly #fixed: Engine | undefined;
  readonly #build: (secret: SecretInput) => Engine;
  readonly #bySecret = new Map<string, Engine>();
  readonly #contexts = new WeakMap<Engine, MiddlewareContext>();

  constructor(fixed: Engine | undefined, build: (secret: SecretInput) => Engine) {
    this.#fixed = fixed;
    this.#build = build;
  }

  /** The engine for a request. @throws TesseraError `INVALID_OPTION` when there is no secret at all. */
  engineOf(req: IncomingMessage): Engine {
    if (this.#fixed !== undefined) return this.#fixed;
    const secret = (req as { secret?: unknown }).secret;
    if (typeof secret !== 'string' || secret === '') {
      throw new TesseraError('INVALID_OPTION', 'secret option required for sessions (give session() a secret, or mount cookie-parser with one first)');
    }
    let engine = this.#bySecret.get(secret);
    if (engine === undefined) this.#bySecret.set(secret, (engine = this.#build(secret)));
    return engine;
  }

  contextFor(req: IncomingMessage, mapped: MappedOptions): MiddlewareContext {
    const engine = this.engineOf(req);
    let context = this.#contexts.get(engine);
    if (context === undefined) {
      const settings = engine.options;
      context = { engine, now: settings.now, saveUninitialized: settings.saveUninitialized, rolling: settings.rolling, settings: mapped.adapter };
      this.#contexts.set(engine, context);
    }
    return context;
  }

  /** The engine for admin calls. @throws when it is made per request and none was yet. */
  defaultEngine(): Engine {
    const engine = this.#fixed ?? this.#bySecret.values().next().value;
    if (engine === undefined) {
      throw new TesseraError('INVALID_OPTION', 'session(): no secret was given, so the engine is made on the first request from req.secret');
    }
    return engine;
  }
}

/**
 * Whether the store can be used: express-session skips sessions while an EventEmitter store
 * has emitted `disconnect`, until it emits `connect`.
 */
function watchConnection(store: unknown): { readonly ready: boolean } {
  const state = { ready: true };
  const emitter = store as { on?: (event: string, listener: () => void) => unknown } | undefined;
  if (emitter !== undefined && !isTesseraStore(emitter) && typeof emitter.on === 'function') {
    emitter.on('disconnect', () => void (state.ready = false));
    emitter.on('connect', () => void (state.ready = true));
  }
  return state;
}

/**
 * The session cookie from cookie-parser, when an earlier middleware took the `Cookie` header
 * away: its raw `req.cookies` value as it was, or its `req.signedCookies` value, signed again
 * with our key when cookie-parser's secret (`req.secret`) is one of ours (cookie-parser has
 * then checked the same signature we would).
 */
function fromCookieParser(req: IncomingMessage, info: ExpressRequestInfo, engine: Engine): void {
  const name = engine.options.cookie.name;
  const parsed = req as { cookies?: Record<string, unknown>; signedCookies?: Record<string, unknown>; secret?: unknown };
  const signed = parsed.signedCookies?.[name];
  if (typeof signed === 'string' && typeof parsed.secret === 'string') {
    const value = internals(engine).keyRing.signWithSecret(parsed.secret, signed);
    if (value !== undefined) {
      info.cookie = `${name}=${encodeURIComponent(value)}`;
      return;
    }
  }
  const raw = parsed.cookies?.[name];
  if (typeof raw === 'string') info.cookie = `${name}=${encodeURIComponent(raw)}`;
}

/** The setup warnings of one middleware, each said once. */
class SetupWarnings {
  readonly #said = new Set<string>();

  /**
   * "My session does not persist behind nginx": a `Secure` cookie withheld from a request that
   * came over plain HTTP (other than to `localhost`, where browsers keep it) from another
   * machine (a client or a `Host` that is not loopback), or an `X-Forwarded-Proto: https`
   * nobody trusts. Both say which setting to change.
   */
  check(req: IncomingMessage, info: ExpressRequestInfo, engine: Engine): void {
    if (this.#said.size === 2) return;
    const cookie = info.cookieOptions ?? engine.options.cookie;
    if (cookie.secure !== true && cookie.secure !== 'auto') return;
    if (info.secure) return;
    if (info.localhost) return; // browsers keep Secure cookies on http://localhost
    const proto = forwardedProto(req);
    if (proto === 'https') {
      this.#say(engine, req, 'untrusted_forwarded_proto',
        "tessera: a request came with X-Forwarded-Proto: https, but the app does not trust its proxy, so it counts as plain HTTP and gets no Secure cookie. Set Express's 'trust proxy' (app.set('trust proxy', 1)) or session({ proxy: true }).");
    } else if (cookie.secure === true && !(isLoopbackAddress(req.socket.remoteAddress) && isLoopbackHostHeader(req.headers.host))) {
      this.#say(engine, req, 'secure_cookie_over_http',
        "tessera: cookie.secure is true but a request came over plain HTTP, so no session cookie is sent and no session is kept (browsers would drop it). Serve the app over HTTPS (behind a proxy: set Express's 'trust proxy'), use http://localhost in development, or set cookie.secure to 'auto'.");
    }
  }

  #say(engine: Engine, req: IncomingMessage, reason: 'secure_cookie_over_http' | 'untrusted_forwarded_proto', message: string): void {
    if (this.#said.has(reason)) return;
    this.#said.add(reason);
    internals(engine).emit('setup_warning', { cookie: undefined, secure: false, method: req.method, path: pathOf(req) }, null, null, { reason });
    process.emitWarning(message, { code: 'TESSERA_SETUP' });
  }
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
export type { TesseraSessionMethods };
