/**
 * `tessera/fastify`: a Fastify 5 plugin that is a drop-in for @fastify/session. Register it
 * where @fastify/session was (`fastify.register(session, options)`, with or without
 * @fastify/cookie) and keep your options, store and secret; `request.session` has
 * @fastify/session's API, `request.tessera` tessera's whole session API.
 *
 * - The session is made when the app first uses it, and a request without a session cookie
 *   costs no store call.
 * - It is committed in `onSend`, before the headers go out (streamed replies too). A reply the
 *   app takes over (`reply.hijack()`, then `reply.raw`) is committed before it ends, and headers
 *   it writes early still carry a rotated token. (Writing to `reply.raw` without `hijack()` is
 *   outside Fastify's lifecycle, and outside the session's.)
 * - A store failure reaches Fastify's error handler as a `TesseraError` (`STORE_UNAVAILABLE`,
 *   `statusCode` 503, or `storeErrorStatus`), on load and on save, before anything is sent.
 * - Cookies @fastify/session signed (`<id>.<signature>`) are still read: their session moves to
 *   a tessera session on the user's next request, and nobody is signed out.
 * @module
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { createSessions, internals, type Engine, type RequestInfo } from '../../core/engine.js';
import { TesseraError } from '../../core/errors.js';
import type { SecretInput } from '../../core/keyring.js';
import type { RequestSession } from '../../core/request-session.js';
import type { ExpressSessionStore } from '../../store/legacy.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { storeSetup } from '../express/migration.js';
import { RequestBinding } from '../web/binding.js';
import { CsrfGuard, type CsrfOptions } from '../web/csrf.js';
import { FastifyBinding, STATE, applyHeaders, coreCookie, pathMatches, requestInfo, withStatus, type Context, type StatefulRequest } from './binding.js';
import { Cookie, type CookieInit } from './cookie.js';
import { mapOptions, type FastifyCookieOptions, type FastifySessionOptions } from './options.js';
import type { SessionMethods } from './session-object.js';
import { MemoryStore, Store, idGenerator } from './store.js';
import { tokenHeaderToRead, transportOf } from '../../core/transport.js';
import { rawHeaderValues } from '../node-headers.js';

declare module 'fastify' {
  /** Your session data, typed: `declare module 'fastify' { interface Session { views: number } }`, as with @fastify/session. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Session {}

  interface FastifyRequest {
    /** @fastify/session's session object (data as properties, `get`/`set`, `regenerate`, ...) plus tessera's methods. */
    session: FastifySessionObject;
    /** The store given to the plugin (or its default memory store). */
    sessionStore: unknown;
    /** tessera's full session API for this request: `signIn`, `signOut`, `listSessions`, `requireFresh`, deadlines, ... */
    tessera: RequestSession;
    /** The CSRF token of the request's session (or visitor), for forms; set by the CSRF hook. */
    csrfToken: () => string;
  }

  interface FastifyInstance {
    /**
     * @fastify/session's `decryptSession`: load the session a cookie value names into
     * `request.session` (for WebSocket upgrades and other code outside a route).
     */
    decryptSession(sessionId: string, request: Record<string, unknown>, cookieOpts: FastifyCookieOptions, callback: (error?: unknown) => void): void;
    decryptSession(sessionId: string, request: Record<string, unknown>, callback: (error?: unknown) => void): void;
    /** tessera's engine (admin calls: `listUserSessions`, `revokeUser`) and the CSRF hook. */
    tessera: TesseraFastify;
  }
}

/** `request.session`: @fastify/session's session API, your `Session` data, and tessera's methods. */
export type FastifySessionObject = SessionMethods & import('fastify').Session & Record<string, unknown>;

/** What the plugin decorates the instance with, as `fastify.tessera`. */
export interface TesseraFastify {
  /** The engine: `listUserSessions`, `revokeUser`, `revokeAllSessions`, `close()`. */
  readonly engine: Engine;
  /**
   * A `preHandler` hook refusing cross-site state-changing requests (`CROSS_SITE`, 403, to
   * the error handler) and setting `request.csrfToken()`:
   * `fastify.addHook('preHandler', fastify.tessera.csrf())`.
   */
  csrf(options?: CsrfOptions): preHandlerAsyncHookHandler;
  /**
   * The status route of `tessera/browser`: `fastify.get('/session/status', fastify.tessera.status())`.
   * JSON, `Cache-Control: no-store`, no token. Not activity: polling it never keeps a session alive.
   */
  status(): (request: FastifyRequest, reply: FastifyReply) => Promise<string>;
  /** The keep-alive route (`fastify.post('/session/keep-alive', fastify.tessera.keepAlive())`): extends the idle deadline, throttled by `touchInterval`. */
  keepAlive(): (request: FastifyRequest, reply: FastifyReply) => Promise<string>;
}

/** The plugin, with @fastify/session's statics. */
export interface FastifySessionPlugin extends FastifyPluginCallback<FastifySessionOptions> {
  /** @fastify/session's memory store (unbounded, for tests). */
  Store: typeof Store;
  MemoryStore: typeof MemoryStore;
  /** The class of `request.session.cookie`. */
  Cookie: typeof Cookie;
  /** @fastify/session's id generator factory (tessera itself never uses it). */
  idGenerator: typeof idGenerator;
  /** The plugin itself, as @fastify/session exports it. */
  fastifySession: FastifySessionPlugin;
  default: FastifySessionPlugin;
}

/** `reply.hijack()`, telling the request's session first that `onSend` will not run. */
function hijackCommitting(this: FastifyReply): FastifyReply {
  (this.request as StatefulRequest)[STATE]?.takenOver();
  return (Object.getPrototypeOf(this) as FastifyReply).hijack.call(this);
}

/**
 * The plugin.
 * @throws TesseraError `INVALID_OPTION` (through `fastify.ready()`) for a bad secret, unsafe
 * cookie settings, an unknown option or a value of the wrong kind.
 */
const plugin = function tesseraSession(fastify: FastifyInstance, options: FastifySessionOptions, done: (error?: Error) => void): void {
  let context: Context;
  let sessionStore: unknown;
  try {
    const mapped = mapOptions(options);
    const now = options.now ?? (() => Date.now());
    // No store given: a bounded memory store with @fastify/session's callback API, so that code
    // writing sessions into `request.sessionStore` (as @fastify/session apps and tests do) works.
    const given = options.store ?? new MemoryStore();
    const setup = storeSetup(given, options.migrateFrom, () => given as never, now);
    const engine = createSessions(
      { ...mapped.engine, now, store: setup.store },
      { ...(setup.legacy && { legacy: setup.legacy }), hints: { derived: mapped.derived } },
    );
    sessionStore = given;
    context = { engine, cookieName: mapped.cookieName, cookiePrefix: mapped.cookiePrefix, storeErrorStatus: mapped.storeErrorStatus, variants: mapped.variants, settings: { rolling: engine.options.rolling }, saveUninitialized: mapped.saveUninitialized, tokenHeader: tokenHeaderToRead(engine.options) };
  } catch (error) {
    done(error as Error);
    return;
  }

  const stateOf = (request: FastifyRequest): FastifyBinding => {
    const state = (request as StatefulRequest)[STATE];
    if (state === null) throw new TesseraError('SESSION_ENDED', 'This request has no tessera session (it ran before the session plugin)');
    return state;
  };

  fastify.decorateRequest(STATE, null);
  fastify.decorateRequest('sessionStore', { getter: () => sessionStore });
  fastify.decorateRequest('session', {
    getter(this: FastifyRequest) {
      return ((this as StatefulRequest)[STATE]?.object ?? null) as FastifySessionObject;
    },
    setter(this: FastifyRequest, value: unknown) {
      stateOf(this).object = value;
    },
  });
  fastify.decorateRequest('tessera', {
    getter(this: FastifyRequest) {
      return stateOf(this).rs;
    },
  });
  fastify.decorateRequest('csrfToken', null as unknown as () => string);

  fastify.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0] || '/';
    // Outside the cookie's Path a browser sends no cookie, so the session is inert there (as with
    // @fastify/session). A header client sends its token wherever it goes: not inert for it.
    // From rawHeaders: Node keeps only the first Authorization line, and a duplicate must be refused.
    const tokenHeader = context.tokenHeader === undefined ? undefined : rawHeaderValues(request.raw, context.tokenHeader);
    const inert = !pathMatches(path, context.variants.base.path) && transportOf(context.engine.options, { tokenHeader }) === 'cookie';
    const info = requestInfo(context, request, path, inert, tokenHeader);
    let loaded: RequestSession | undefined;
    if (!inert && context.engine.hasCredential(info)) {
      try {
        loaded = await context.engine.load(info);
      } catch (error) {
        throw withStatus(error, context.storeErrorStatus);
      }
    }
    const binding = new RequestBinding(context.engine, info, context.settings, loaded, inert);
    (request as StatefulRequest)[STATE] = new FastifyBinding(context, request as unknown as Record<string, unknown>, reply.raw, binding, request.protocol);
    reply.hijack = hijackCommitting;
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    const state = (request as StatefulRequest)[STATE];
    if (state === null) return done(null, payload);
    // A second send of this reply while the first waits for the store: an async handler that
    // called reply.send() without returning the reply, which Fastify then sends again with the
    // handler's result. Letting it through would write the headers twice (a 500 after the
    // response began); the first send completes the reply, so this one is dropped.
    if (state.committing) return;
    state.commit().then(
      (headers) => {
        applyHeaders(context, reply, headers);
        done(null, payload);
      },
      (error: unknown) => done(error as Error),
    );
  });

  const decryptSession = (sessionId: string, request: Record<string, unknown>, cookieOpts: unknown, callback?: (error?: unknown) => void): void => {
    const done = (typeof cookieOpts === 'function' ? cookieOpts : callback) as (error?: unknown) => void;
    const overrides = typeof cookieOpts === 'object' && cookieOpts !== null ? (cookieOpts as FastifyCookieOptions) : undefined;
    const protocol = typeof request['protocol'] === 'string' ? request['protocol'] : 'http';
    const info: RequestInfo = { cookie: coreCookie(context, `${context.cookieName}=${encodeURIComponent(sessionId)}`), secure: protocol === 'https' };
    context.engine.load(info).then(
      (rs) => {
        const binding = new RequestBinding(context.engine, info, context.settings, rs);
        const host = new FastifyBinding(context, request, undefined, binding, protocol);
        if (overrides !== undefined) {
          host.overrides = overrides;
          if (typeof overrides.maxAge === 'number' && overrides.maxAge > 0) rs.cookieMaxAge = overrides.maxAge;
        }
        request['session'] = host.object;
        done();
      },
      (error: unknown) => done(withStatus(error, context.storeErrorStatus)),
    );
  };
  fastify.decorate('decryptSession', decryptSession);

  const guards = new Map<string, CsrfGuard>();
  const statusRoute = (keepAlive: boolean) => async (request: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const state = stateOf(request);
    let body: string;
    try {
      body = await state.binding.statusBody(state.rs, keepAlive, context.engine.options.now());
    } catch (error) {
      throw withStatus(error, context.storeErrorStatus);
    }
    reply.header('Content-Type', 'application/json; charset=utf-8').header('Cache-Control', 'no-store');
    return body;
  };
  fastify.decorate('tessera', {
    engine: context.engine,
    status: () => statusRoute(false),
    keepAlive: () => statusRoute(true),
    csrf(csrfOptions: CsrfOptions = {}): preHandlerAsyncHookHandler {
      const cacheKey = JSON.stringify(csrfOptions);
      let guard = guards.get(cacheKey);
      if (guard === undefined) guards.set(cacheKey, (guard = new CsrfGuard(() => internals(context.engine).keyRing.referenceKey, csrfOptions)));
      const csrfGuard = guard;
      return async function tesseraCsrf(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
        const state = stateOf(request);
        const secure = request.protocol === 'https';
        const header = (name: string): string | undefined => {
          const value = request.headers[name];
          return Array.isArray(value) ? value[0] : value;
        };
        request.csrfToken = csrfGuard.tokens({ header, secure }, () => state.rs, (line) => {
          if (reply.sent || reply.raw.headersSent) throw new TesseraError('HEADERS_SENT', 'csrfToken(): call it before the reply is sent, so its cookie can be set');
          reply.header('set-cookie', line);
          reply.header('Cache-Control', 'no-store');
        });
        const body = request.body;
        const refused = csrfGuard.check(
          {
            method: request.method,
            header,
            ownOrigin: `${request.protocol}://${request.host}`,
            secure,
            transport: transportOf(context.engine.options, state.binding.info),
            formField: (name) => (typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined),
          },
          () => state.rs,
        );
        if (refused !== undefined) throw refused;
      };
    },
  } satisfies TesseraFastify);
  done();
};

// Registered without encapsulation, as fastify-plugin does (Fastify's documented
// `skip-override` marker): the session is there for routes of every context.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'tessera-session',
  [Symbol.for('plugin-meta')]: { fastify: '5.x', name: 'tessera-session' },
});

const exported = Object.assign(plugin, { Store, MemoryStore, Cookie, idGenerator }) as unknown as FastifySessionPlugin;
Object.assign(exported, { fastifySession: exported, default: exported });

export default exported;

export type { FastifySessionOptions, FastifyCookieOptions, CookieInit, CsrfOptions, SessionMethods, ExpressSessionStore, SecretInput, TesseraStore };
