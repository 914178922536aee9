/**
 * A benchmark server on Fastify 5 or Hono (on `@hono/node-server`), speaking the same IPC
 * protocol and serving the same routes as `server.ts` (see there), so `run.ts` measures it the
 * same way. Contenders: `bare` (no session, the framework's ceiling), `tessera`
 * (`tessera/fastify` or `tessera/hono`) and, on Fastify, `fastify-session` (@fastify/session 11
 * with @fastify/cookie, on its MemoryStore or connect-redis 9).
 *
 * Both Fastify plugins run with `saveUninitialized: false` and `rolling: false`, and a plain-HTTP
 * cookie (`secure: false`), so a read is a read for both (@fastify/session's default `rolling:
 * true` saves the session on every response).
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig, SECRET, redisPrefix, type ServerConfig } from './config.js';

const config: ServerConfig = parseConfig(process.env['BENCH_CONFIG']);
const common = { secret: SECRET, saveUninitialized: false, rolling: false, cookieName: 'sessionId', cookie: { secure: false } };
let closeStore: () => Promise<void> = async () => undefined;
let users = 0;

/** A Redis client for this server's store, closed at the end. */
async function redisClient(): Promise<import('redis').RedisClientType> {
  const { createClient } = await import('redis');
  const client = createClient({ url: config.redisUrl ?? 'redis://127.0.0.1:6379' });
  await client.connect();
  closeStore = async () => void (await client.quit());
  return client as import('redis').RedisClientType;
}

/** The store of a session contender, as the contender's plugin takes it. */
async function openStore(): Promise<unknown> {
  if (config.store === 'memory') {
    if (config.contender === 'tessera') return new (await import('../src/store/memory.js')).MemoryStore();
    return undefined; // @fastify/session's own MemoryStore
  }
  if (config.store !== 'redis') throw new Error(`framework-server: no ${config.store} store`);
  const client = await redisClient();
  const prefix = redisPrefix(config.namespace);
  if (config.contender === 'tessera') return new (await import('../src/store/redis.js')).RedisStore({ client, prefix });
  const { RedisStore } = await import('connect-redis');
  return new RedisStore({ client, prefix });
}

interface SessionLike {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  regenerate(): Promise<void>;
}

async function fastifyServer(): Promise<Server> {
  const { default: Fastify } = await import('fastify');
  let server!: Server;
  const app = Fastify({ serverFactory: (handler) => (server = createServer(handler)) });
  if (config.contender !== 'bare') {
    const store = await openStore();
    const options = { ...common, ...(store !== undefined && { store }) };
    if (config.contender === 'tessera') {
      await app.register((await import('../src/adapters/fastify/index.js')).default, options as never);
    } else {
      await app.register((await import('@fastify/cookie')).default);
      await app.register((await import('@fastify/session')).default, options as never);
    }
  }
  const session = (request: unknown): SessionLike => (request as { session: SessionLike }).session;
  const bare = config.contender === 'bare';
  app.get('/anon', async () => 'ok');
  app.get('/read', async (request) => (bare ? 'user-1:dark' : `${String(session(request).get('user') ?? '-')}:${(session(request).get('prefs') as { theme?: string } | undefined)?.theme ?? '-'}`));
  app.get('/write', async (request) => {
    if (bare) return '1';
    const views = Number(session(request).get('views') ?? 0) + 1;
    session(request).set('views', views);
    return String(views);
  });
  const signIn = async (request: unknown): Promise<string> => {
    if (bare) return 'ok';
    await session(request).regenerate();
    const fresh = session(request);
    fresh.set('user', `user-${++users}`);
    fresh.set('prefs', { theme: 'dark', lang: 'en' });
    fresh.set('views', 0);
    return 'ok';
  };
  app.post('/signin', signIn);
  app.post('/setup', signIn);
  await app.ready();
  return server;
}

async function honoServer(): Promise<Server> {
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const app = new Hono();
  const bare = config.contender === 'bare';
  type Rs = import('../src/core/request-session.js').RequestSession;
  let session: (c: { get(key: string): unknown }) => Rs = () => {
    throw new Error('no session');
  };
  if (!bare) {
    const { honoSessions } = await import('../src/adapters/hono/index.js');
    const { MemoryStore } = await import('../src/store/memory.js');
    const sessions = honoSessions({ secret: SECRET, store: new MemoryStore(), cookie: { name: 'sessionId', secure: false } });
    closeStore = () => sessions.engine.close();
    app.use(sessions.middleware as never);
    session = (c) => c.get('session') as Rs;
  }
  app.get('/anon', (c) => c.text('ok'));
  app.get('/read', (c) => c.text(bare ? 'user-1:dark' : `${String(session(c).data.get('user') ?? '-')}:${session(c).data.get<{ theme?: string }>('prefs')?.theme ?? '-'}`));
  app.get('/write', (c) => {
    if (bare) return c.text('1');
    const views = Number(session(c).data.get('views') ?? 0) + 1;
    session(c).data.set('views', views);
    return c.text(String(views));
  });
  const signIn = async (c: { get(key: string): unknown; text(body: string): Response }): Promise<Response> => {
    if (bare) return c.text('ok');
    const rs = session(c);
    await rs.regenerate();
    rs.data.set('user', `user-${++users}`);
    rs.data.set('prefs', { theme: 'dark', lang: 'en' });
    rs.data.set('views', 0);
    return c.text('ok');
  };
  app.post('/signin', signIn as never);
  app.post('/setup', signIn as never);
  return createServer(getRequestListener(app.fetch));
}

const server = config.framework === 'hono' ? await honoServer() : await fastifyServer();
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
    process.send?.({ type: 'report', cpuMicros: cpu.user + cpu.system, requests: requests - markRequests, rss: memory.rss, heapUsed: memory.heapUsed });
  } else if (message?.type === 'stop') {
    void stop();
  }
});
process.on('disconnect', () => void stop());

async function stop(): Promise<void> {
  server.closeAllConnections();
  server.close();
  try {
    await closeStore();
  } finally {
    process.exit(0);
  }
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', port, secretLength: SECRET.length });
});
