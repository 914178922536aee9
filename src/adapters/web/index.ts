/**
 * `tessera/web`: sessions for Fetch API handlers (`Request` in, `Response` out), wherever those
 * run: Node 20+ (`@hono/node-server`, Next.js route handlers), Bun and Deno. It needs
 * `node:crypto` (`createHash`, `createHmac`, `hkdfSync`, `randomBytes`, `timingSafeEqual`;
 * `createCipheriv` for `encryptData`) and `node:net` (`BlockList`, for the IP anomaly check),
 * which Node has and Bun and Deno provide through their Node compatibility; runtimes without
 * them (Next.js's Edge runtime, workers without Node compatibility) cannot run it.
 *
 * ```ts
 * const sessions = createWebSessions({ secret, store });
 * export default { fetch: sessions.withSession(async (request, session) => { ... return new Response('ok'); }) };
 * ```
 * @module
 */
import { createSessions, internals, type Engine } from '../../core/engine.js';
import type { ResponseHeaders } from '../../core/headers.js';
import type { SessionOptions } from '../../core/options.js';
import type { RequestSession } from '../../core/request-session.js';
import { RequestBinding } from './binding.js';
import { CsrfGuard, type CsrfFacts, type CsrfOptions } from './csrf.js';
import { requestInfoOf, withHeaders, type RequestContext, type WebRequestOptions } from './headers.js';
import { tokenHeaderToRead, transportOf, type RequestTransport } from '../../core/transport.js';

export type { CsrfOptions, RequestContext, WebRequestOptions };
export { applyHeaders, withHeaders } from './headers.js';

/** Options of {@link createWebSessions}: the core's (`secret` and `store` required), plus how requests are read. */
export interface WebSessionOptions extends SessionOptions, WebRequestOptions {}

/** One request's session, and the commit that puts its headers on the response. */
export interface WebSession {
  /** The session: data, `signIn`, `signOut`, `listSessions`, `requireFresh`, ... */
  readonly session: RequestSession;
  /**
   * Save the session, then return the response with its headers (`Set-Cookie`,
   * `Cache-Control: no-store`, `Clear-Site-Data`): the same object when its headers can be
   * changed, else a copy. Once per request; changes made after it are not saved.
   * @throws TesseraError `STORE_UNAVAILABLE` (503), `WRITE_CONFLICT`, `INVALID_DATA`, `DATA_TOO_LARGE`.
   */
  commit(response: Response): Promise<Response>;
  /**
   * Save the session and give its headers, for frameworks that set headers themselves
   * (Next.js `cookies()`). Once per request. @throws as {@link commit}.
   */
  headers(): Promise<ResponseHeaders>;
  /** The CSRF token of this request's session (or visitor), for a form field or a header. */
  csrfToken(): string;
  /**
   * Answer `tessera/browser`'s status or keep-alive request with this session's status (JSON,
   * `Cache-Control: no-store`, no token; see the README's "The browser side"). A status
   * request is not activity: nothing is saved, so polling cannot keep a session alive. A
   * keep-alive request is: it saves, which extends the idle deadline at most once per
   * `touchInterval`. Commits the session (call it instead of {@link commit}).
   * @param keepAlive `true` for the keep-alive route. @default false
   * @throws TesseraError `STORE_UNAVAILABLE` when a keep-alive cannot be saved.
   */
  statusResponse(keepAlive?: boolean): Promise<Response>;
}

/** A handler that gets the request's session. */
export type SessionHandler<A extends unknown[]> = (request: Request, session: RequestSession, ...rest: A) => Response | Promise<Response>;

/** Options of {@link WebSessions.withSession}. */
export interface WithSessionOptions<A extends unknown[] = unknown[]> {
  /**
   * The response when loading or saving the session fails (a store outage: `STORE_UNAVAILABLE`,
   * status 503). Without it the error is thrown to the caller (the server's or framework's
   * error handling), never swallowed.
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
  /** The client's address and the like, which a `Request` does not carry. */
  context?: (request: Request, ...rest: A) => RequestContext;
}

/** Sessions for Fetch API handlers. */
export interface WebSessions {
  /** The engine, for admin calls (`listUserSessions`, `revokeUser`) and `close()`. */
  readonly engine: Engine;
  /**
   * The session of a request. No store call without a session cookie; a forged, expired or
   * malformed cookie gives a new empty session (and an event).
   * @throws TesseraError `STORE_UNAVAILABLE` when the store fails or is too slow (`storeTimeout`).
   */
  load(request: Request, context?: RequestContext): Promise<WebSession>;
  /** Wrap a handler: load before it, commit its response after it. */
  withSession<A extends unknown[]>(handler: SessionHandler<A>, options?: WithSessionOptions<A>): (request: Request, ...rest: A) => Promise<Response>;
  /**
   * The CSRF check of a request: `undefined` to go on, or the `CROSS_SITE` error (403) to
   * answer with. Safe methods always pass; see the README's CSRF section.
   */
  csrf(request: Request, session: WebSession, options?: CsrfOptions): Promise<Error | undefined>;
  /** A status route: `load` then {@link WebSession.statusResponse}. */
  status(request: Request, context?: RequestContext): Promise<Response>;
  /** A keep-alive route: `load` then {@link WebSession.statusResponse} with `keepAlive`. */
  keepAlive(request: Request, context?: RequestContext): Promise<Response>;
}

/**
 * Create sessions for Fetch API handlers.
 * @throws TesseraError `INVALID_OPTION` for a short secret, unsafe cookie settings or bad durations.
 * @example
 * const sessions = createWebSessions({ secret: process.env.SESSION_SECRET!, store: new RedisStore({ client }) });
 * const handler = sessions.withSession(async (request, session) => {
 *   session.data.set('views', (session.data.get('views') as number ?? 0) + 1);
 *   return Response.json({ views: session.data.get('views') });
 * });
 */
export function createWebSessions(options: WebSessionOptions): WebSessions {
  const { trustProxy, ...core } = options;
  const engine = createSessions(core);
  return webSessionsOf(engine, { ...(trustProxy !== undefined && { trustProxy }) });
}

/** Web sessions over an existing engine (the Hono and Next helpers share one this way). */
export function webSessionsOf(engine: Engine, reading: WebRequestOptions = {}): WebSessions {
  const settings = { rolling: engine.options.rolling };
  const guards = new Map<string, CsrfGuard>();
  let defaultGuard: CsrfGuard | undefined;
  const guardFor = (options?: CsrfOptions): CsrfGuard => {
    // The default guard is asked for on every load: no key to compute for it.
    if (options === undefined) return (defaultGuard ??= new CsrfGuard(() => internals(engine).keyRing.referenceKey));
    const cacheKey = JSON.stringify(options);
    let guard = guards.get(cacheKey);
    if (guard === undefined) guards.set(cacheKey, (guard = new CsrfGuard(() => internals(engine).keyRing.referenceKey, options)));
    return guard;
  };
  const tokenHeader = tokenHeaderToRead(engine.options);
  const load = async (request: Request, context?: RequestContext): Promise<WebSession> => {
    const info = requestInfoOf(request, reading, context, tokenHeader);
    const binding = new RequestBinding(engine, info, settings, engine.hasCredential(info) ? await engine.load(info) : undefined);
    return new BoundWebSession(binding, request, info.secure, guardFor(), transportOf(engine.options, info), engine.options.now);
  };
  return {
    engine,
    load,
    withSession(handler, withOptions = {}) {
      return async (request, ...rest) => {
        try {
          const ws = await load(request, withOptions.context?.(request, ...rest));
          return await ws.commit(await handler(request, ws.session, ...rest));
        } catch (error) {
          if (withOptions.onError === undefined) throw error;
          return withOptions.onError(error, request);
        }
      };
    },
    async status(request, context) {
      return (await load(request, context)).statusResponse(false);
    },
    async keepAlive(request, context) {
      return (await load(request, context)).statusResponse(true);
    },
    async csrf(request, ws, options) {
      const form = await formOf(request);
      const bound = ws instanceof BoundWebSession ? ws : undefined;
      return guardFor(options).check(factsOf(request, bound?.secure ?? false, form, bound?.transport), () => ws.session);
    },
  };
}

/** A {@link WebSession} over a binding. */
class BoundWebSession implements WebSession {
  readonly #binding: RequestBinding;
  readonly #cookies: string[] = [];
  readonly #request: Request;
  readonly #guard: CsrfGuard;
  /** Made on the first `csrfToken()`: most requests never ask for one. */
  #token: (() => string) | undefined;
  readonly secure: boolean;
  /** Whether the session came (or goes) in the cookie or in the token header. */
  readonly transport: RequestTransport;
  readonly #now: () => number;

  constructor(binding: RequestBinding, request: Request, secure: boolean, guard: CsrfGuard, transport: RequestTransport, now: () => number) {
    this.#now = now;
    this.#binding = binding;
    this.#request = request;
    this.#guard = guard;
    this.secure = secure;
    this.transport = transport;
  }

  get session(): RequestSession {
    return this.#binding.session;
  }

  async commit(response: Response): Promise<Response> {
    return withHeaders(response, await this.headers());
  }

  async statusResponse(keepAlive = false): Promise<Response> {
    const body = await this.#binding.statusBody(this.session, keepAlive, this.#now());
    return this.commit(new Response(body, { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' } }));
  }

  async headers(): Promise<ResponseHeaders> {
    const headers = await this.#binding.commit();
    if (this.#cookies.length === 0) return headers;
    const extra: ResponseHeaders = this.#cookies.map((line) => ['Set-Cookie', line]);
    // A page holding a token for this visitor is theirs alone.
    if (!headers.some(([name]) => name === 'Cache-Control')) extra.push(['Cache-Control', 'no-store']);
    return [...headers, ...extra];
  }

  csrfToken(): string {
    const binding = this.#binding;
    this.#token ??= this.#guard.tokens(factsOf(this.#request, this.secure, undefined, this.transport), () => binding.session, (line) => {
      if (!binding.open) throw new Error('csrfToken(): call it before the response is committed, so its cookie can be set');
      this.#cookies.push(line);
    });
    return this.#token();
  }
}

/** The CSRF facts of a Web request (`form` when its body was parsed for the token). */
function factsOf(request: Request, secure: boolean, form: FormData | undefined, transport: RequestTransport | undefined): CsrfFacts {
  const url = new URL(request.url);
  return {
    transport,
    method: request.method,
    header: (name) => request.headers.get(name) ?? undefined,
    ownOrigin: `${secure ? 'https:' : url.protocol}//${request.headers.get('host') ?? url.host}`,
    secure,
    formField: (name) => form?.get(name) ?? undefined,
  };
}

/** The form body of a request, read from a clone (the handler can still read it), if it is a form. */
async function formOf(request: Request): Promise<FormData | undefined> {
  const type = request.headers.get('content-type')?.toLowerCase() ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) return undefined;
  try {
    return await request.clone().formData();
  } catch {
    return undefined;
  }
}
