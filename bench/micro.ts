/**
 * A development tool, not part of `npm run bench`: the per-request CPU cost of each middleware
 * in one process, without sockets or a load generator. Express apps handle requests made of
 * Node's real `IncomingMessage` / `ServerResponse` over a socket stand-in that discards what is
 * written, so what differs between contenders is the middleware alone, and a co-tenant on a
 * shared machine disturbs each short alternating batch alike.
 *
 * `node bench/.build/bench/micro.js [scenario] [requests]` after a build, or through tsx
 * (slower: tsx adds `__name` wrappers; see build.ts). Prints µs per request, median of batches.
 * @module
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import express, { type Express, type RequestHandler } from 'express';
import expressSession from 'express-session';
import tessera from '../src/adapters/express/index.js';
import { MemoryStore } from '../src/store/memory.js';
import { SECRET } from './config.js';

interface BenchSession {
  user?: string;
  prefs?: { theme: string };
  views?: number;
  regenerate(callback: (error?: unknown) => void): void;
}

function app(middleware: RequestHandler | undefined): Express {
  const a = express();
  if (middleware) a.use(middleware);
  const s = (req: unknown): BenchSession => (req as { session: BenchSession }).session;
  a.get('/anon', (_req, res) => {
    res.send('ok');
  });
  a.get('/read', (req, res) => {
    if (!middleware) return void res.send('user-1:dark');
    res.send(`${s(req).user ?? '-'}:${s(req).prefs?.theme ?? '-'}`);
  });
  a.get('/write', (req, res) => {
    if (!middleware) return void res.send('1');
    s(req).views = (s(req).views ?? 0) + 1;
    res.send(String(s(req).views));
  });
  a.post('/signin', (req, res, next) => {
    if (!middleware) return void res.send('ok');
    s(req).regenerate((error) => {
      if (error) return next(error);
      s(req).user = 'user-1';
      s(req).prefs = { theme: 'dark' };
      s(req).views = 0;
      res.send('ok');
    });
  });
  return a;
}

/** A socket stand-in: accepts writes, never reads. */
function fakeSocket(): Duplex {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
    writev(_chunks, callback) {
      callback();
    },
  });
  Object.assign(socket, { remoteAddress: '127.0.0.1', encrypted: false });
  return socket;
}

/** Handle one request; resolves when the response has finished; returns its Set-Cookie. */
function handle(target: Express, socket: Duplex, method: string, url: string, cookie: string | undefined): Promise<string | undefined> {
  const req = new IncomingMessage(socket as never);
  req.method = method;
  req.url = url;
  req.headers = cookie === undefined ? { host: 'bench' } : { host: 'bench', cookie };
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  return new Promise((resolve) => {
    res.on('finish', () => {
      res.detachSocket(socket as never);
      const setCookie = res.getHeader('set-cookie');
      resolve(Array.isArray(setCookie) ? setCookie[0]?.split(';')[0] : typeof setCookie === 'string' ? setCookie.split(';')[0] : undefined);
    });
    target(req as never, res as never);
  });
}

const scenarios = {
  anonymous: { method: 'GET', url: '/anon', cookie: false },
  read: { method: 'GET', url: '/read', cookie: true },
  write: { method: 'GET', url: '/write', cookie: true },
  signin: { method: 'POST', url: '/signin', cookie: false },
} as const;

const [scenarioName = 'anonymous', countText = '20000'] = process.argv.slice(2);
const scenario = scenarios[scenarioName as keyof typeof scenarios];
if (!scenario) throw new Error(`unknown scenario ${scenarioName}`);
const batch = Number(countText);
const common = { secret: SECRET, resave: false, saveUninitialized: false, name: 'connect.sid' };
const contenders: Array<[string, Express]> = [
  ['bare', app(undefined)],
  ['tessera', app(tessera({ ...common, store: new MemoryStore({ maxEntries: 100_000 }) }) as unknown as RequestHandler)],
  ['express-session', app(expressSession(common) as RequestHandler)],
  // The drop-in on express-session's own MemoryStore: the legacy path of the one-line switch.
  ['tessera-legacy', app(tessera({ ...common, store: new expressSession.MemoryStore() }) as unknown as RequestHandler)],
];
const only = process.env['MICRO_ONLY'];
/** Sessions the cookie scenarios spread over (`MICRO_SESSIONS`, default 100; 1 is one hot session). */
const SESSIONS = Number(process.env['MICRO_SESSIONS'] ?? 100);
// One contender per process keeps Express's inline caches seeing one kind of request object.
if (only !== undefined) contenders.splice(0, contenders.length, ...contenders.filter(([name]) => name === only));
const socket = fakeSocket();
const cookies = new Map<string, string[]>();
for (const [name, target] of contenders) {
  const list: string[] = [];
  for (let i = 0; i < (scenario.cookie ? SESSIONS : 0); i++) {
    const cookie = name === 'bare' ? `connect.sid=s%3A${'a'.repeat(32)}.${'b'.repeat(43)}` : await handle(target, socket, 'POST', '/signin', undefined);
    if (cookie === undefined) throw new Error(`${name}: no cookie`);
    list.push(cookie);
  }
  cookies.set(name, list);
}

const times = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
for (let round = 0; round < 7; round++) {
  for (const [name, target] of contenders) {
    const list = cookies.get(name)!;
    const started = performance.now();
    for (let i = 0; i < batch; i++) {
      await handle(target, socket, scenario.method, scenario.url, scenario.cookie ? list[i % list.length] : undefined);
    }
    if (round > 0) times.get(name)!.push(((performance.now() - started) * 1000) / batch); // round 0 warms up
  }
}
const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;
const bare = times.has('bare') ? median(times.get('bare')!) : NaN;
for (const [name, values] of times) {
  const m = median(values);
  console.log(`${scenarioName.padEnd(9)} ${name.padEnd(16)} ${m.toFixed(2).padStart(7)} µs/req  overhead ${(m - bare).toFixed(2).padStart(6)} µs  × bare ${(bare / m).toFixed(2)}`);
}
process.exit(0);
