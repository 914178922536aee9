/**
 * `tessera/koa`: session middleware for Koa 2 and 3. `ctx.session` is shaped like koa-session's
 * (data as properties, `ctx.session = null` to end it, `maxAge`, `save()`, `regenerate()`,
 * `manuallyCommit()`), and `ctx.tessera` is tessera's whole session API (`signIn`, `signOut`,
 * `listSessions`, `requireFresh`, ...).
 *
 * - The session is made when the app first uses it; a request without a session cookie costs
 *   no store call.
 * - It is committed after the middleware chain, before Koa writes the headers (streamed bodies
 *   too). A response the app writes itself (`ctx.respond = false`, `ctx.res`) is committed
 *   before it ends, and headers it writes early still carry a rotated token.
 * - A store failure is thrown into Koa's error handling as a `TesseraError`
 *   (`STORE_UNAVAILABLE`, `status` 503 or `storeErrorStatus`), on load and on save.
 *
 * ```ts
 * const app = new Koa();
 * const sessions = koaSessions({ secret: process.env.SESSION_SECRET!, store });
 * app.use(sessions.middleware).use(sessions.csrf());
 * app.use(async (ctx) => { ctx.session.views = (Number(ctx.session.views) || 0) + 1; ctx.body = 'ok'; });
 * ```
 * @module
 */
import type { Context, Middleware } from 'koa';
import { createSessions, internals, type Engine, type RequestInfo } from '../../core/engine.js';
import { TesseraError, isTesseraError } from '../../core/errors.js';
import type { SessionOptions } from '../../core/options.js';
import { isLocalhostHeader } from '../../core/request.js';
import type { RequestSession } from '../../core/request-session.js';
import { RequestBinding } from '../web/binding.js';
import { CsrfGuard, type CsrfOptions } from '../web/csrf.js';
import { guardRawResponse } from '../web/raw-response.js';
import { createKoaSession, type KoaSessionHost, type KoaSessionMethods, type KoaSessionObject } from './session-object.js';
import { tokenHeaderToRead, transportOf, type RequestTransport } from '../../core/transport.js';
import { rawHeaderValues } from '../node-headers.js';

export type { CsrfOptions, KoaSessionMethods, KoaSessionObject };

declare module 'koa' {
  interface ExtendableContext {
    /** The session, shaped like koa-session's; assign `null` to end it (set by `tessera/koa`). */
    session: KoaSessionObject | null;
    /** tessera's full session API for this request: `signIn`, `signOut`, `listSessions`, `requireFresh`, ... */
    readonly tessera: RequestSession;
    /** The CSRF token of the request's session (or visitor), for forms; set by `csrf()`. */
    csrfToken: () => string;
  }
}

/** Options of {@link koaSessions}: the core's (`secret` and `store` required) plus Koa's. */
export interface KoaSessionOptions extends SessionOptions {
  /** Status of the error Koa's error handling gets when the store fails. @default 503 */
  storeErrorStatus?: number;
}

/** What {@link koaSessions} returns. */
export interface KoaSessions {
  /** The session middleware: `app.use(sessions.middleware)`, before the routes. */
  readonly middleware: Middleware;
  /**
   * CSRF middleware; mount it after {@link middleware} (and after a body parser, for the
   * `_csrf` form field). Refuses cross-site state-changing requests with `CROSS_SITE`
   * (a `TesseraError`, status 403, thrown) and sets `ctx.csrfToken()`.
   */
  csrf(options?: CsrfOptions): Middleware;
  /** The engine, for admin calls (`listUserSessions`, `revokeUser`) and `close()`. */
  readonly engine: Engine;
  /**
   * The status route of `tessera/browser` (`router.get('/session/status', sessions.status())`),
   * after {@link middleware}: JSON, `Cache-Control: no-store`, no token. Not activity: polling
   * it never keeps a session alive.
   */
  status(): Middleware;
  /** The keep-alive route (`router.post('/session/keep-alive', sessions.keepAlive())`): extends the idle deadline, throttled by `touchInterval`. */
  keepAlive(): Middleware;
}

const STATE = Symbol('tessera.koa');
type StatefulContext = Context & { [STATE]?: KoaState };

/** One request's session in Koa. */
class KoaState implements KoaSessionHost {
  readonly binding: RequestBinding;
  readonly #ctx: Context;
  readonly #storeErrorStatus: number;
  #object: KoaSessionObject | undefined;
  #guarded = false;
  /** `ctx.session = null` was assigned: end the session at the commit. */
  endRequested = false;
  /** Whether the session travels in the cookie or in the token header on this request. */
  readonly transport: RequestTransport;

  constructor(ctx: Context, binding: RequestBinding, storeErrorStatus: number, transport: RequestTransport) {
    this.transport = transport;
    this.#ctx = ctx;
    this.binding = binding;
    this.#storeErrorStatus = storeErrorStatus;
    if (binding.made) this.#guard();
  }

  get rs(): RequestSession {
    const made = this.binding.made;
    const rs = this.binding.session;
    if (!made) this.#guard();
    return rs;
  }

  get object(): KoaSessionObject | null {
    if (this.endRequested) return null;
    return (this.#object ??= createKoaSession(this));
  }

  /** `ctx.session = value`: `null` ends the session; an object replaces its data. */
  assign(value: unknown): void {
    if (value === null || value === undefined) {
      this.endRequested = true;
      return;
    }
    if (typeof value !== 'object') throw new TesseraError('INVALID_OPTION', 'ctx.session can only be set to an object or null');
    this.endRequested = false;
    const data = this.rs.data;
    for (const key of data.keys()) data.delete(key);
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) data.set(key, entry);
  }

  /** Save and put the headers on the response (once; later calls do nothing). */
  async commitNow(): Promise<void> {
    if (!this.binding.made || !this.binding.open) return;
    try {
      if (this.endRequested) await this.rs.destroy();
      const headers = await this.binding.commit();
      for (const [name, value] of headers) {
        if (name === 'Set-Cookie') this.#ctx.append(name, value);
        else this.#ctx.set(name, value);
      }
    } catch (error) {
      throw withStatus(error, this.#storeErrorStatus);
    }
  }

  /** The safety net for responses the app writes itself. */
  #guard(): void {
    const res = this.#ctx.res;
    if (this.#guarded || res.writableEnded) return;
    this.#guarded = true;
    guardRawResponse(res, this.binding, (error, headersSent, respond) => {
      this.#ctx.app.emit('error', error, this.#ctx);
      if (headersSent) respond.asTheAppWrote();
      else respond.withStatus(isTesseraError(error) ? (withStatus(error, this.#storeErrorStatus) as TesseraError).status : 500);
    });
  }
}

/** A `STORE_UNAVAILABLE` error with the status the app asked for; any other error as it is. */
function withStatus(error: unknown, status: number): unknown {
  if (isTesseraError(error, 'STORE_UNAVAILABLE') && error.status !== status) {
    return new TesseraError('STORE_UNAVAILABLE', error.message, { cause: error.cause, status });
  }
  return error;
}

/**
 * The engine's view of a Koa request (`ctx.secure` and `ctx.ip` follow `app.proxy`). The token
 * header is read from `rawHeaders`, where a duplicate shows (and is refused).
 */
function requestInfoOf(ctx: Context, tokenHeader: string | undefined): RequestInfo {
  const userAgent = ctx.headers['user-agent'];
  return {
    cookie: ctx.headers.cookie,
    tokenHeader: tokenHeader === undefined ? undefined : rawHeaderValues(ctx.req, tokenHeader),
    secure: ctx.secure,
    ip: ctx.ip,
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
    method: ctx.method,
    path: ctx.path,
    localhost: isLocalhostHeader(ctx.headers.host),
  };
}

function stateOf(ctx: Context): KoaState {
  const state = (ctx as StatefulContext)[STATE];
  if (state === undefined) throw new TesseraError('SESSION_ENDED', 'This request has no tessera session (mount the session middleware first)');
  return state;
}

/** `ctx.session`, `ctx.tessera`: accessors shared by every request. */
const SESSION: PropertyDescriptor = {
  get(this: Context) {
    return stateOf(this).object;
  },
  set(this: Context, value: unknown) {
    stateOf(this).assign(value);
  },
  configurable: true,
};
const TESSERA: PropertyDescriptor = {
  get(this: Context) {
    return stateOf(this).rs;
  },
  configurable: true,
};

/**
 * Create the Koa session middleware.
 * @throws TesseraError `INVALID_OPTION` for a short secret, unsafe cookie settings or bad durations.
 * @example
 * const sessions = koaSessions({ secret: process.env.SESSION_SECRET!, store: new RedisStore({ client }) });
 * app.use(sessions.middleware);
 */
export function koaSessions(options: KoaSessionOptions): KoaSessions {
  const { storeErrorStatus = 503, ...core } = options;
  if (!(Number.isInteger(storeErrorStatus) && storeErrorStatus >= 400 && storeErrorStatus <= 599)) {
    throw new TesseraError('INVALID_OPTION', 'storeErrorStatus must be an HTTP error status (400-599)');
  }
  const engine = createSessions(core);
  const tokenHeader = tokenHeaderToRead(engine.options);
  const settings = { rolling: engine.options.rolling };
  const middleware: Middleware = async function tesseraSession(ctx, next) {
    const info = requestInfoOf(ctx, tokenHeader);
    let loaded: RequestSession | undefined;
    if (engine.hasCredential(info)) {
      try {
        loaded = await engine.load(info);
      } catch (error) {
        throw withStatus(error, storeErrorStatus);
      }
    }
    const state = new KoaState(ctx, new RequestBinding(engine, info, settings, loaded), storeErrorStatus, transportOf(engine.options, info));
    (ctx as StatefulContext)[STATE] = state;
    Object.defineProperty(ctx, 'session', SESSION);
    Object.defineProperty(ctx, 'tessera', TESSERA);
    await next();
    // The app wrote the response itself: the guard on `ctx.res` commits before it ends.
    if (ctx.respond === false || ctx.res.headersSent) return;
    await state.commitNow();
  };
  const guards = new Map<string, CsrfGuard>();
  const statusRoute = (keepAlive: boolean): Middleware => async (ctx) => {
    const state = (ctx as StatefulContext)[STATE];
    if (state === undefined) throw new TesseraError('INVALID_OPTION', `${keepAlive ? 'keepAlive' : 'status'}(): mount it after the session middleware`);
    let body: string;
    try {
      body = await state.binding.statusBody(state.rs, keepAlive, engine.options.now());
    } catch (error) {
      throw withStatus(error, storeErrorStatus);
    }
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  return {
    middleware,
    engine,
    status: () => statusRoute(false),
    keepAlive: () => statusRoute(true),
    csrf(csrfOptions = {}) {
      const cacheKey = JSON.stringify(csrfOptions);
      let guard = guards.get(cacheKey);
      if (guard === undefined) guards.set(cacheKey, (guard = new CsrfGuard(() => internals(engine).keyRing.referenceKey, csrfOptions)));
      const csrfGuard = guard;
      return async function tesseraCsrf(ctx, next) {
        const state = stateOf(ctx);
        const header = (name: string): string | undefined => ctx.get(name) || undefined;
        ctx.csrfToken = csrfGuard.tokens({ header, secure: ctx.secure }, () => state.rs, (line) => {
          if (ctx.headerSent) throw new TesseraError('HEADERS_SENT', 'csrfToken(): call it before the response is sent, so its cookie can be set');
          ctx.append('Set-Cookie', line);
          ctx.set('Cache-Control', 'no-store');
        });
        const body = (ctx.request as { body?: unknown }).body;
        const refused = csrfGuard.check(
          {
            method: ctx.method,
            header,
            ownOrigin: `${ctx.protocol}://${ctx.host}`,
            secure: ctx.secure,
            transport: state.transport,
            formField: (name) => (typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined),
          },
          () => state.rs,
        );
        if (refused !== undefined) throw refused;
        await next();
      };
    },
  };
}

export default koaSessions;
