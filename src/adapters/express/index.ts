/**
 * `tessera/express`: a drop-in for express-session. `require('tessera/express')` is the
 * `session(options)` function, with `session.Store`, `session.MemoryStore`, `session.Cookie`
 * and `session.Session` on it, so switching is one line.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createSessions, type Engine, type LegacySource, type RequestInfo } from '../../core/engine.js';
import { isTesseraError } from '../../core/errors.js';
import type { SessionData } from '../../core/handle.js';
import type { RequestSession } from '../../core/request-session.js';
import { LegacyStore, type ExpressSessionStore } from '../../store/legacy.js';
import { MemoryStore as TesseraMemoryStore } from '../../store/memory.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { commitBeforeEnd } from '../node-response.js';
import { Cookie, type CookieInit } from './cookie.js';
import { isTesseraStore, toEngineOptions, type ExpressSessionOptions } from './options.js';
import { Session, createSessionObject, syncCookie, type SessionBinding, type SessionObject } from './session-object.js';
import { MemoryStore, Store } from './store.js';
import { requireFresh } from './guards.js';
import { createCsrf, type CsrfOptions } from './csrf.js';

/** The request as the middleware sees it: Node's, plus what Express adds when present. */
interface ExpressRequest extends IncomingMessage {
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
    }
  }
}

/** The middleware `session()` returns. */
export type SessionMiddleware = ((req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => Promise<void>) & {
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
  const resave = options.resave ?? false;
  const rolling = options.rolling ?? false;
  const unset = options.unset ?? 'keep';
  const errorStatus = options.storeErrorStatus ?? 503;

  const middleware = async (incoming: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => {
    const req = incoming as ExpressRequest;
    if (req.session) return next();
    if (!pathOf(req).startsWith(cookieOptions.path)) return next();
    let rs: RequestSession;
    try {
      rs = await engine.load(requestInfo(req, options.proxy));
    } catch (error) {
      return next(error);
    }
    let current: SessionObject | undefined;
    const binding: SessionBinding = {
      rs,
      cookieInit,
      now: engine.options.now,
      setSession(object) {
        current = object;
        if (object === undefined) delete req.session;
        else req.session = object;
      },
    };
    binding.setSession(createSessionObject(binding));
    req.tessera = rs;
    req.sessionStore = given ?? store;
    Object.defineProperty(req, 'sessionID', { get: () => rs.id, set: () => undefined, configurable: true, enumerable: true });

    commitBeforeEnd(res, {
      async save() {
        // A store call already failed in this request and the app answered with an error page:
        // leave that response alone rather than fail a second time over it. (An app that answers
        // success despite the failure gets one more save attempt, and a 503 if it fails too.)
        if (rs.storeFailed && res.statusCode >= 500) return;
        if (current !== undefined && req.session !== current) {
          // The app removed req.session (express-session's `unset`).
          if (unset === 'destroy') await rs.destroy();
          return;
        }
        if (current !== undefined) syncCookie(current);
        if (resave && !rs.isNew) rs.forceWrite();
        if (rolling) rs.resendCookie();
        await rs.save();
      },
      headers: (beforeSave) => rs.responseHeaders(beforeSave),
      onSaveError: (error) => (isTesseraError(error) ? (error.code === 'STORE_UNAVAILABLE' ? errorStatus : error.status) : 500),
    });
    next();
  };
  return Object.assign(middleware, { engine, csrf: (csrfOptions?: CsrfOptions) => createCsrf(engine, csrfOptions) });
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

function requestInfo(req: ExpressRequest, proxy: boolean | undefined): RequestInfo {
  const userAgent = req.headers['user-agent'];
  return {
    cookie: req.headers.cookie,
    secure: isSecure(req, proxy),
    ip: req.ip ?? req.socket?.remoteAddress,
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
    method: req.method,
    path: pathOf(req),
  };
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
