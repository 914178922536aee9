/**
 * `tessera/hono`: session middleware for Hono, on `tessera/web`. `c.get('session')` is the
 * request's session; the middleware saves it after the handler and puts its headers on the
 * response before Hono sends it. Runs wherever Hono runs with `node:crypto` (Node with
 * `@hono/node-server`, Bun, Deno); not on runtimes without it (see `tessera/web`).
 *
 * ```ts
 * const app = new Hono<{ Variables: SessionVariables }>();
 * const sessions = honoSessions({ secret, store });
 * app.use(sessions.middleware, sessions.csrf());
 * app.get('/', (c) => c.text(`Hello ${c.get('session').userId ?? 'guest'}`));
 * ```
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { createSessions, type Engine } from '../../core/engine.js';
import { TesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';
import type { CsrfOptions, WebSession, WebSessionOptions } from '../web/index.js';
import { webSessionsOf } from '../web/index.js';

export type { CsrfOptions };

/** The variables the middleware sets: type your app with `new Hono<{ Variables: SessionVariables }>()`. */
export interface SessionVariables {
  /** The request's session: data, `signIn`, `signOut`, `listSessions`, `requireFresh`, ... */
  session: RequestSession;
  /** The CSRF token of the request's session (or visitor), for forms; set by `csrf()`. */
  csrfToken: () => string;
}

/** Options of {@link honoSessions}: `tessera/web`'s, plus where the client address comes from. */
export interface HonoSessionOptions extends WebSessionOptions {
  /**
   * The client's IP address, for the session's device record and anomaly checks.
   * @default the socket's remote address under `@hono/node-server` (`c.env.incoming`), else none
   */
  clientIp?: (c: Context) => string | undefined;
}

/** What {@link honoSessions} returns. */
export interface HonoSessions {
  /** The session middleware: `app.use(sessions.middleware)`. */
  readonly middleware: MiddlewareHandler<{ Variables: SessionVariables }>;
  /**
   * CSRF middleware; mount it after {@link middleware}. Refuses cross-site state-changing
   * requests with `CROSS_SITE` (a `TesseraError`, status 403, thrown to `app.onError`) and sets
   * `c.get('csrfToken')`.
   */
  csrf(options?: CsrfOptions): MiddlewareHandler<{ Variables: SessionVariables }>;
  /** The engine, for admin calls (`listUserSessions`, `revokeUser`) and `close()`. */
  readonly engine: Engine;
  /**
   * The status route of `tessera/browser`: `app.get('/session/status', sessions.status())`,
   * after {@link middleware}. Not activity: polling it never keeps a session alive.
   */
  status(): MiddlewareHandler<{ Variables: SessionVariables }>;
  /** The keep-alive route: `app.post('/session/keep-alive', sessions.keepAlive())`; extends the idle deadline (throttled by `touchInterval`). */
  keepAlive(): MiddlewareHandler<{ Variables: SessionVariables }>;
}

/** Where the middleware keeps a request's {@link WebSession}, for `csrf()`. */
const WEB_SESSION = 'tessera.webSession';

/**
 * Create the Hono session middleware. A store failure (`STORE_UNAVAILABLE`, 503) is thrown to
 * `app.onError`, on loading and on saving, before anything is sent.
 * @throws TesseraError `INVALID_OPTION` for a short secret, unsafe cookie settings or bad durations.
 */
export function honoSessions(options: HonoSessionOptions): HonoSessions {
  const { trustProxy, clientIp = nodeServerIp, ...core } = options;
  const engine = createSessions(core);
  const web = webSessionsOf(engine, { ...(trustProxy !== undefined && { trustProxy }) });
  const middleware: MiddlewareHandler<{ Variables: SessionVariables }> = async (c, next) => {
    const ws = await web.load(nodeRequestView(c) ?? c.req.raw, { ip: clientIp(c) });
    c.set('session', ws.session);
    (c as unknown as Context).set(WEB_SESSION, ws);
    await next();
    const headers = await ws.headers();
    if (headers.length === 0) return;
    try {
      for (const [name, value] of headers) {
        if (name === 'Set-Cookie') c.res.headers.append(name, value);
        else c.res.headers.set(name, value);
      }
    } catch {
      // Immutable headers (a fetch() response): a copy. Hono merges the old response's headers
      // into a new one, dropping the new one's cookies, so the old one goes first.
      const old = c.res;
      const copy = new Response(old.body, { status: old.status, statusText: old.statusText, headers: old.headers });
      for (const [name, value] of headers) {
        if (name === 'Set-Cookie') copy.headers.append(name, value);
        else copy.headers.set(name, value);
      }
      c.res = undefined;
      c.res = copy;
    }
  };
  const statusRoute = (keepAlive: boolean): MiddlewareHandler<{ Variables: SessionVariables }> => async (c) => {
    const ws = (c as unknown as Context).get(WEB_SESSION) as WebSession | undefined;
    if (ws === undefined) throw new TesseraError('INVALID_OPTION', `${keepAlive ? 'keepAlive' : 'status'}(): mount it after the session middleware`);
    return ws.statusResponse(keepAlive);
  };
  return {
    middleware,
    engine,
    status: () => statusRoute(false),
    keepAlive: () => statusRoute(true),
    csrf(csrfOptions) {
      return async (c, next) => {
        const ws = (c as unknown as Context).get(WEB_SESSION) as WebSession | undefined;
        if (ws === undefined) throw new TesseraError('INVALID_OPTION', 'csrf(): mount it after the session middleware');
        c.set('csrfToken', () => ws.csrfToken());
        const refused = await web.csrf(c.req.raw, ws, csrfOptions);
        if (refused !== undefined) throw refused;
        await next();
      };
    },
  };
}

/** The Node request under `@hono/node-server`, if that is the server. */
interface NodeIncoming {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

/**
 * Under `@hono/node-server`, what the session reads of the request (`url`, `method` and
 * `headers.get`) straight from the Node request: `c.req.raw` is a lazy `Request` there, and
 * reading its headers builds the whole `Request` (a `Headers` copy of every header), which
 * costs a read more than the session itself. Elsewhere `undefined`: the `Request` is read.
 */
function nodeRequestView(c: Context): Request | undefined {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  if (incoming === undefined || typeof incoming.headers !== 'object' || incoming.headers === null) return undefined;
  const raw = c.req.raw;
  const headers = incoming.headers;
  const get = (name: string): string | null => {
    const value = headers[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  };
  return { url: raw.url, method: raw.method, headers: { get } } as unknown as Request;
}

/** The remote address of `@hono/node-server`'s Node request, if that is the server. */
function nodeServerIp(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}
