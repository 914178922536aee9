/**
 * The tessera demo: an Express 5 app with sign-in, a page that shows the session's clocks,
 * "your sessions" with revoke, sign out, and sign out everywhere, on the SQLite store.
 *
 * In your own app, import from the package instead of `../src`:
 *   import session from 'tessera/express';
 *   import { SqliteStore } from 'tessera/stores/sqlite';
 * @module
 */
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import session, { type SessionObject } from '../src/adapters/express/index.js';
import { isTesseraError, type SessionEvent } from '../src/index.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { rejectCrossOrigin } from './cross-origin.js';
import type { Html } from './html.js';
import { createUserDirectory } from './users.js';
import { errorPage, sessionPage, signInPage } from './views.js';

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
  /** Where audit lines go. @default console.log */
  log?: (line: string) => void;
}

/** The app, and how to release its SQLite file. */
export interface DemoApp {
  app: Express;
  close(): Promise<void>;
}

/**
 * `req.session` as tessera's middleware makes it: express-session's API plus `signIn`,
 * `listSessions`, `revokeSession`, ... (`req.tessera`, the session's clocks, is typed already).
 */
type SessionRequest = Request & { session: SessionObject };
const sessionOf = (req: Request): SessionObject => (req as SessionRequest).session;

/** Build the demo app (without listening: `server.ts` does that, tests use supertest). */
export async function createApp(config: DemoConfig): Promise<DemoApp> {
  const production = config.production ?? false;
  const log = config.log ?? ((line: string) => console.log(line));
  const users = await createUserDirectory();
  const store = new SqliteStore({ database: config.database });

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy) app.set('trust proxy', 1);

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
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
  app.use(rejectCrossOrigin((_req, res) => send(res, 403, errorPage('Forbidden', 'Cross-site requests cannot change anything here.'))));
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  app.use(
    session({
      secret: config.secret,
      store,
      // `__Host-` pins the cookie to this host and requires `Secure`, so it needs HTTPS. In
      // development the cookie is `sid`, marked `Secure` whenever the request came over HTTPS.
      name: production ? '__Host-sid' : 'sid',
      cookie: { secure: production ? true : 'auto' },
      idleTimeout: 30 * MINUTE,
      absoluteTimeout: 12 * HOUR,
      onEvent: (event) => log(auditLine(event)),
    }),
  );

  app.get('/', async (req, res) => {
    const session = sessionOf(req);
    const user = session.userId === null ? null : users.find(session.userId);
    if (user === null) return send(res, 200, signInPage());
    const rs = req.tessera;
    send(
      res,
      200,
      sessionPage({
        user,
        createdAt: rs.createdAt,
        lastSeenAt: rs.lastSeenAt,
        authenticatedAt: rs.authenticatedAt,
        idleExpiresAt: rs.idleExpiresAt,
        absoluteExpiresAt: rs.absoluteExpiresAt,
        sessions: await session.listSessions(),
        now: Date.now(),
      }),
    );
  });

  app.post('/login', async (req, res) => {
    const session = sessionOf(req);
    const username = field(req.body, 'username');
    const user = await users.authenticate(username, field(req.body, 'password'));
    if (user === null) {
      return send(res, 401, signInPage({ error: 'Wrong username or password.', username }));
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
    if (session.userId !== null) await session.signOutEverywhere();
    res.redirect(303, '/');
  });

  app.post('/sessions/:id/revoke', async (req, res) => {
    const session = sessionOf(req);
    // Only the signed-in user's own sessions can be revoked; other ids are ignored.
    if (session.userId !== null) await session.revokeSession(req.params.id);
    res.redirect(303, '/');
  });

  app.use((_req: Request, res: Response) => {
    send(res, 404, errorPage('Not found', 'There is no page at this address.'));
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isTesseraError(error, 'STORE_UNAVAILABLE')) {
      return send(res, 503, errorPage('Service unavailable', 'The session store cannot be reached. Please try again in a moment.'));
    }
    const status = clientErrorStatus(error);
    if (status !== undefined) return send(res, status, errorPage('Bad request', 'The request could not be processed.'));
    console.error(error);
    send(res, 500, errorPage('Something went wrong', 'The server could not complete the request.'));
  });

  return { app, close: () => store.close() };
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

/** One audit line per event: what happened, to which session (an HMAC reference, never the token), whose. */
function auditLine(event: SessionEvent): string {
  const parts = [`[audit] ${event.type}`, `session=${event.sessionRef ?? '-'}`, `user=${event.userId ?? '-'}`];
  if ('reason' in event) parts.push(`reason=${event.reason}`);
  if ('count' in event) parts.push(`count=${event.count}`);
  return parts.join(' ');
}
