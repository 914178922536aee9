/**
 * One benchmark server: an Express 5 app with one contender's session middleware (or none, for
 * the bare ceiling), listening on 127.0.0.1 on a free port. The driver (`run.ts`) starts it as
 * a child process with an IPC channel, and talks to it with messages:
 *
 * - the server sends `{ type: 'ready', port }` once it listens;
 * - `{ type: 'mark' }` starts a measured window (CPU time and request count from now);
 * - `{ type: 'report' }` answers `{ type: 'report', cpuMicros, requests, rss, heapUsed }` for
 *   the window since the last mark;
 * - `{ type: 'stop' }` closes the server and the store, then the process exits.
 *
 * The routes are the same for every contender, so the only difference is the middleware:
 * - `GET /anon`: never touches `req.session`;
 * - `GET /read`: reads two values (one of them inside an object) and changes nothing;
 * - `GET /write`: increments a counter in the session;
 * - `POST /signin`: express-session's sign-in idiom: `regenerate`, then set the user's data;
 * - `POST /setup`: the same, used by the driver to create the sessions `/read` and `/write` use.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { parseConfig, SECRET, type ServerConfig } from './config.js';
import { openStore, type OpenedStore } from './stores.js';

/** The session as the routes use it (both middlewares give `req.session` this shape). */
interface BenchSession {
  user?: string;
  prefs?: { theme: string; lang: string };
  views?: number;
  regenerate(callback: (error?: unknown) => void): void;
}

const config: ServerConfig = parseConfig(process.env['BENCH_CONFIG']);
const opened: OpenedStore | undefined = config.contender === 'bare' ? undefined : await openStore(config);

const app = express();
if (opened !== undefined) app.use(opened.middleware);

const sessionOf = (req: Request): BenchSession => (req as unknown as { session: BenchSession }).session;
let users = 0;

/** express-session's sign-in idiom: a new session id, then the user's data. */
const signIn: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
  if (opened === undefined) {
    res.send('ok');
    return;
  }
  sessionOf(req).regenerate((error) => {
    if (error) {
      next(error);
      return;
    }
    const session = sessionOf(req);
    session.user = `user-${++users}`;
    session.prefs = { theme: 'dark', lang: 'en' };
    session.views = 0;
    res.send('ok');
  });
};

app.get('/anon', (_req, res) => {
  res.send('ok');
});
app.get('/read', (req, res) => {
  if (opened === undefined) {
    res.send('user-1:dark');
    return;
  }
  const session = sessionOf(req);
  res.send(`${session.user ?? '-'}:${session.prefs?.theme ?? '-'}`);
});
app.get('/write', (req, res) => {
  if (opened === undefined) {
    res.send('1');
    return;
  }
  const session = sessionOf(req);
  session.views = (session.views ?? 0) + 1;
  res.send(String(session.views));
});
app.post('/signin', signIn);
app.post('/setup', signIn);

const server = createServer(app);
let requests = 0;
server.on('request', () => {
  requests++;
});
server.keepAliveTimeout = 60_000;

let markCpu = process.cpuUsage();
let markRequests = 0;

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'mark') {
    markRequests = requests;
    markCpu = process.cpuUsage();
    process.send?.({ type: 'marked' });
  } else if (message?.type === 'report') {
    const cpu = process.cpuUsage(markCpu);
    const memory = process.memoryUsage();
    process.send?.({
      type: 'report',
      cpuMicros: cpu.user + cpu.system,
      requests: requests - markRequests,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
    });
  } else if (message?.type === 'stop') {
    void stop();
  }
});
// The driver going away (crash, Ctrl-C) must never leave a server behind.
process.on('disconnect', () => {
  void stop();
});

async function stop(): Promise<void> {
  server.closeAllConnections();
  server.close();
  try {
    await opened?.close();
  } finally {
    process.exit(0);
  }
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port, secretLength: SECRET.length });
});
