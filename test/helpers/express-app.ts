/**
 * A small Express 5 app on the tessera drop-in, with the routes the adapter tests drive over
 * real HTTP (supertest).
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request } from 'express';
import session, { type ExpressSessionOptions, type SessionObject } from '../../src/adapters/express/index.js';
import type { RequestSession } from '../../src/core/request-session.js';
import type { SessionEvent } from '../../src/core/events.js';

/** First (signing) secret used by the tests: 40 bytes. */
export const SECRET = 'tessera-test-secret-0123456789-abcdefghij';
/** A second secret, for key rotation tests. */
export const OTHER_SECRET = 'tessera-other-secret-9876543210-zyxwvutsr';

/** The drop-in's default cookie name (express-session's). */
export const DEFAULT_NAME = 'connect.sid';

/** What `GET /whoami` answers. */
export interface WhoAmI {
  userId: string | null;
  data: Record<string, unknown>;
  isNew: boolean;
}

/** Options of {@link buildApp}. */
export interface AppOptions extends Partial<ExpressSessionOptions> {
  /**
   * Awaited by `POST /concurrent/:key/:value` after the session was loaded and before the key
   * is set, so a test can hold every request at the same point (a barrier).
   */
  beforeSet?: () => Promise<void>;
}

/** The app, its session middleware, and the events it emitted. */
export interface TestApp {
  app: Express;
  middleware: ReturnType<typeof session>;
  events: SessionEvent[];
}

export function sessionOf(req: Request): SessionObject {
  const value = (req as Request & { session?: SessionObject }).session;
  if (value === undefined) throw new Error('no req.session');
  return value;
}

export function tesseraOf(req: Request): RequestSession {
  const value = (req as Request & { tessera?: RequestSession }).tessera;
  if (value === undefined) throw new Error('no req.tessera');
  return value;
}

/**
 * Routes:
 * - `GET /noop`: never touches the session;
 * - `GET /whoami`: reads the session ({@link WhoAmI});
 * - `POST /set/:key/:value`: sets one key;
 * - `POST /concurrent/:key/:value`: awaits `beforeSet`, then sets one key;
 * - `POST /delete/:key`: awaits `beforeSet`, then deletes one key;
 * - `POST /signin/:user`: `req.session.signIn(user)`;
 * - `POST /signout`: `req.session.signOut()`.
 */
export function buildApp(options: AppOptions = {}): TestApp {
  const events: SessionEvent[] = [];
  const { beforeSet, onEvent, ...rest } = options;
  const middleware = session({
    secret: SECRET,
    ...rest,
    onEvent: (event) => {
      events.push(event);
      onEvent?.(event);
    },
  });
  const app = express();
  app.use(middleware);
  app.get('/noop', (_req, res) => {
    res.send('ok');
  });
  app.get('/whoami', (req, res) => {
    const rs = tesseraOf(req);
    const body: WhoAmI = { userId: rs.userId, data: rs.data.snapshot(), isNew: rs.isNew };
    res.json(body);
  });
  app.post('/set/:key/:value', (req, res) => {
    sessionOf(req)[String(req.params['key'])] = String(req.params['value']);
    res.json({ ok: true });
  });
  app.post('/concurrent/:key/:value', async (req, res) => {
    await beforeSet?.();
    sessionOf(req)[String(req.params['key'])] = String(req.params['value']);
    res.json({ ok: true });
  });
  app.post('/delete/:key', async (req, res) => {
    await beforeSet?.();
    delete sessionOf(req)[String(req.params['key'])];
    res.json({ ok: true });
  });
  app.post('/signin/:user', async (req, res) => {
    await sessionOf(req).signIn(String(req.params['user']));
    res.json({ ok: true });
  });
  app.post('/signout', async (req, res) => {
    await sessionOf(req).signOut();
    res.send('bye');
  });
  return { app, middleware, events };
}

/** A listening HTTP server for an app (one server for many parallel requests). */
export async function listen(app: Express): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A promise gate that opens when `parties` callers have arrived. */
export function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    arrived += 1;
    if (arrived >= parties) open();
    await opened;
  };
}

/** A gate that holds callers until the test releases it, and tells when `parties` are waiting. */
export interface Gate {
  /** Wait at the gate until {@link Gate.release}. */
  arrive(): Promise<void>;
  /** Resolves once `parties` callers are waiting. */
  readonly allArrived: Promise<void>;
  /** Let every caller through (and every later one). */
  release(): void;
}

export function gate(parties: number): Gate {
  let arrived = 0;
  let full!: () => void;
  let open!: () => void;
  const allArrived = new Promise<void>((resolve) => (full = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    async arrive() {
      arrived += 1;
      if (arrived >= parties) full();
      await opened;
    },
    allArrived,
    release: () => open(),
  };
}
