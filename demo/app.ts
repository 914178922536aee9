/**
 * The tessera demo: an Express 5 app with sign-in, a page that shows the session's clocks,
 * "your sessions" with revoke, sign out, sign out everywhere, and a password change that signs
 * out every other device, on the SQLite store. Logs are pino JSON lines. In the browser,
 * `tessera/browser` warns before the idle timeout, keeps the tabs in step, and the sign-in page
 * says why the last session ended.
 *
 * In your own app, import from the package instead of `../src`:
 *   import session from 'tessera/express';
 *   import { SqliteStore } from 'tessera/stores/sqlite';
 *   import { logEvents, registerMorganTokens } from 'tessera/logging';
 * @module
 */
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import morgan from 'morgan';
import { pino, type Logger } from 'pino';
import session, { type SessionObject } from '../src/adapters/express/index.js';
import { isTesseraError, type Engine } from '../src/index.js';
import { logEvents, registerMorganTokens } from '../src/logging.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { apiRouter } from './api.js';
import { browserKit, clientTimings, endMessage, tokenClientKit } from './client.js';
import type { DemoTimings } from './config.js';
import type { Html } from './html.js';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, createUserDirectory, type User } from './users.js';
import { errorPage, passwordChangedPage, reauthPage, sessionPage, signInPage } from './views.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** How to run the demo. `server.ts` fills it in from the environment. */
export interface DemoConfig {
  /** Signs the session cookie: at least 32 bytes. */
  secret: string;
  /** SQLite file that holds the sessions. */
  database: string;
  /**
   * Behind TLS: the cookie is `__Host-sid` and always `Secure`, and browsers are told to
   * upgrade to HTTPS. Otherwise the cookie is `sid`, `Secure` only on HTTPS requests.
   * @default false
   */
  production?: boolean;
  /** Trust one reverse proxy's `X-Forwarded-For` / `X-Forwarded-Proto`. @default false */
  trustProxy?: boolean;
  /** Where session events and access lines go, as JSON. @default pino() (stdout) */
  logger?: Logger;
  /** The clock, in ms since epoch (tests move it forward). @default Date.now */
  now?: () => number;
  /** Timeouts to try the browser side in minutes (`IDLE_TIMEOUT`, ...); see `config.ts`. */
  timings?: DemoTimings;
}

/** The app, and how to release its SQLite file. */
export interface DemoApp {
  app: Express;
  /** The session engine, for admin calls (`revokeUser`). */
  engine: Engine;
  close(): Promise<void>;
}

/**
 * `req.session` as tessera's middleware makes it: express-session's API plus `signIn`,
 * `listSessions`, `revokeSession`, ... (`req.tessera`, the session's clocks, is typed already),
 * and `req.csrfToken()`, which `sessions.csrf()` adds.
 */
type SessionRequest = Request & { session: SessionObject; csrfToken(): string };
const sessionOf = (req: Request): SessionObject => (req as SessionRequest).session;
/** The CSRF token for this session's forms. */
const csrfTokenOf = (req: Request): string => (req as SessionRequest).csrfToken();

/** How recent the sign-in must be to change the password. */
const FRESH_FOR_PASSWORD_CHANGE = 10 * MINUTE;

/** Build the demo app (without listening: `server.ts` does that, tests use supertest). */
export async function createApp(config: DemoConfig): Promise<DemoApp> {
  const production = config.production ?? false;
  const logger = config.logger ?? pino();
  const now = config.now ?? Date.now;
  const users = await createUserDirectory();
  const timings = config.timings ?? {};
  const idleTimeout = timings.idleTimeout ?? 30 * MINUTE;
  const client = clientTimings(idleTimeout, timings.signInTimeout ?? 10 * MINUTE);
  const kit = await browserKit();
  const tokenClient = await tokenClientKit();
  const store = new SqliteStore({ database: config.database, now });
  const currentUser = (req: Request): User | null => {
    const userId = req.tessera.userId;
    return userId === null ? null : users.find(userId);
  };

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy) app.set('trust proxy', 1);

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          // The demo's one script (public/session.js) and tessera/browser, from this origin only.
          scriptSrc: ["'self'"],
          connectSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          ...(production && { upgradeInsecureRequests: [] }),
        },
      },
      xFrameOptions: { action: 'deny' },
    }),
  );
  // Static files first: they need no session, so they cost no store read.
  app.use(express.static(fileURLToPath(new URL('./public', import.meta.url)), { index: false }));
  // tessera/browser, built from src/browser when the app starts (an app imports 'tessera/browser').
  app.get('/assets/tessera-browser.js', (_req, res) => {
    res.type('text/javascript').set('Cache-Control', 'no-cache').send(kit);
  });
  // tessera/client, for the API page (public/api.html).
  app.get('/assets/tessera-client.js', (_req, res) => {
    res.type('text/javascript').set('Cache-Control', 'no-cache').send(tokenClient);
  });
  // One access line per request, naming the session by its reference (never the token).
  registerMorganTokens(morgan);
  const accessLog = { write: (line: string) => logger.info(line.trimEnd()) };
  app.use(morgan(':method :url :status :response-time ms session=:session user=:user', { stream: accessLog }));
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  const sessions = session({
    secret: config.secret,
    store,
    // `__Host-` pins the cookie to this host and requires `Secure`, so it needs HTTPS. In
    // development the cookie is `sid`, marked `Secure` whenever the request came over HTTPS.
    name: production ? '__Host-sid' : 'sid',
    cookie: { secure: production ? true : 'auto' },
    idleTimeout,
    absoluteTimeout: timings.absoluteTimeout ?? 12 * HOUR,
    ...(timings.rotateEvery !== undefined && { rotateEvery: timings.rotateEvery }),
    // Audit events as pino lines: the session's HMAC reference, the user, IP, path; never the token.
    onEvent: logEvents(logger),
    now,
  });
  // The API for clients without cookies: access and refresh tokens on the same store and key
  // ring, listed with the user's sessions. Before the cookie session and its CSRF guard.
  app.use('/api', apiRouter(sessions.engine, users, logger));
  app.use(sessions);
  // CSRF: refuse state-changing requests that `Sec-Fetch-Site` or `Origin` shows come from
  // another site; where a browser sent neither, require the form's `_csrf` token.
  app.use(sessions.csrf());
  // What tessera/browser's watchSession asks: the status (read-only: polling it never keeps a
  // session alive) and keep-alive ("stay signed in", and activity the page saw).
  app.get('/session/status', sessions.status());
  app.post('/session/keep-alive', sessions.keepAlive());

  /** The session page, with an error for the password form if there is one. */
  async function showSession(req: Request, res: Response, user: User, status = 200, passwordError?: string): Promise<void> {
    const rs = req.tessera;
    send(
      res,
      status,
      sessionPage({
        user,
        createdAt: rs.createdAt,
        lastSeenAt: rs.lastSeenAt,
        authenticatedAt: rs.authenticatedAt,
        idleExpiresAt: rs.idleExpiresAt,
        absoluteExpiresAt: rs.absoluteExpiresAt,
        sessions: await rs.listSessions(),
        now: now(),
        csrf: csrfTokenOf(req),
        passwordError,
        client,
      }),
    );
  }

  app.get('/', async (req, res) => {
    const user = currentUser(req);
    if (user === null) {
      // Why the last session ended: found by this request, or told by the short-lived cookie
      // the server set when it ended it (signed out in another tab, revoked, timed out).
      const reason = req.tessera.endReason ?? sessions.engine.endReason({ cookie: req.headers.cookie });
      return send(res, 200, signInPage({ csrf: csrfTokenOf(req), ended: endMessage(reason, idleTimeout), demoUsers: users.demoCredentials(), client }));
    }
    await showSession(req, res, user);
  });

  app.post('/login', async (req, res) => {
    const session = sessionOf(req);
    const username = field(req.body, 'username');
    const user = await users.authenticate(username, field(req.body, 'password'));
    if (user === null) {
      return send(res, 401, signInPage({ csrf: csrfTokenOf(req), error: 'Wrong username or password.', username, demoUsers: users.demoCredentials(), client }));
    }
    // A new token replaces any earlier one (no session fixation); the user is indexed for the list.
    await session.signIn(user.id);
    // Save now rather than when the response ends, so a store failure gets the 503 page.
    await session.save();
    res.redirect(303, '/');
  });

  app.post('/logout', async (req, res) => {
    await sessionOf(req).signOut();
    res.redirect(303, '/');
  });

  app.post('/logout-everywhere', async (req, res) => {
    const session = sessionOf(req);
    if (req.tessera.userId !== null) await session.signOutEverywhere();
    res.redirect(303, '/');
  });

  app.post('/sessions/:id/revoke', async (req, res) => {
    const session = sessionOf(req);
    // Only the signed-in user's own sessions can be revoked; other ids are ignored.
    if (req.tessera.userId !== null) await session.revokeSession(req.params.id);
    res.redirect(303, '/');
  });

  // Changing the password needs a recent sign-in (step-up): the guard passes NOT_FRESH to the
  // error handler below, which asks for the password again.
  app.post('/password', session.requireFresh({ maxAge: FRESH_FOR_PASSWORD_CHANGE }), async (req, res) => {
    const user = currentUser(req);
    if (user === null) return res.redirect(303, '/');
    const password = field(req.body, 'password');
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      return showSession(req, res, user, 400, `The new password must have ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`);
    }
    if (password !== field(req.body, 'confirm')) {
      return showSession(req, res, user, 400, 'The new password and its confirmation differ.');
    }
    if ((await users.authenticate(user.id, field(req.body, 'current'))) === null) {
      return showSession(req, res, user, 401, 'The current password is wrong.');
    }
    await users.setPassword(user.id, password);
    // Whoever else holds a session of this user (perhaps the reason for the change) is out now:
    // OWASP ASVS V7.4.3. This device stays signed in.
    const ended = await req.tessera.signOutOthers();
    send(res, 200, passwordChangedPage(ended, client));
  });

  // Step-up: sign the same user in again, which refreshes the sign-in time and replaces the token.
  app.post('/reauth', async (req, res) => {
    const session = sessionOf(req);
    const user = currentUser(req);
    if (user === null) return res.redirect(303, '/');
    if ((await users.authenticate(user.id, field(req.body, 'password'))) === null) {
      return send(res, 401, reauthPage({ user, csrf: csrfTokenOf(req), error: 'Wrong password.', client }));
    }
    await session.signIn(user.id);
    await session.save();
    res.redirect(303, '/#password');
  });

  app.use((_req: Request, res: Response) => {
    send(res, 404, errorPage('Not found', 'There is no page at this address.'));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isTesseraError(error, 'CROSS_SITE')) {
      return send(res, 403, errorPage('Forbidden', 'Cross-site requests cannot change anything here.'));
    }
    if (isTesseraError(error, 'NOT_FRESH')) {
      const user = currentUser(req);
      if (user !== null) return send(res, 403, reauthPage({ user, csrf: csrfTokenOf(req), client }));
    }
    if (isTesseraError(error, 'NOT_AUTHENTICATED') || isTesseraError(error, 'NOT_FRESH')) return res.redirect(303, '/');
    if (isTesseraError(error, 'STORE_UNAVAILABLE')) {
      return send(res, 503, errorPage('Service unavailable', 'The session store cannot be reached. Please try again in a moment.'));
    }
    const status = clientErrorStatus(error);
    if (status !== undefined) return send(res, status, errorPage('Bad request', 'The request could not be processed.'));
    logger.error({ err: error }, 'request failed');
    send(res, 500, errorPage('Something went wrong', 'The server could not complete the request.'));
  });

  return { app, engine: sessions.engine, close: () => store.close() };
}

/** Send a page. Pages show personal data, so no cache may keep them. */
function send(res: Response, status: number, page: Html): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(page.text);
}

/** A form field as a string ('' when absent or repeated). */
function field(body: unknown, name: string): string {
  if (typeof body !== 'object' || body === null) return '';
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

/** The 4xx status of an error thrown by Express or its body parser, if it has one. */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
