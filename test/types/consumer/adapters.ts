// An app on each framework adapter, compiled against the published declarations: the
// subpaths resolve (ESM, CJS, node10 through typesVersions), the framework augmentations apply
// (`request.session` and `request.tessera` in Fastify, `ctx.session` and `ctx.tessera` in
// Koa, `c.get('session')` in Hono), and the factories take tessera's options.
import Fastify from 'fastify';
import { Hono } from 'hono';
import fastifySession from 'tessera/fastify';
import { honoSessions, type SessionVariables } from 'tessera/hono';
import { nextSessions } from 'tessera/next';
import { createWebSessions, type WebSessions } from 'tessera/web';
import { MemoryStore } from 'tessera/stores/memory';

const secret = 'a-strong-secret-of-at-least-32-bytes!';

export const fastify = Fastify();
void fastify.register(fastifySession, { secret, store: new MemoryStore(), cookieName: '__Host-sid', cookie: { maxAge: 3_600_000 } });
fastify.get('/', async (request) => {
  request.session.set('views', Number(request.session.get('views') ?? 0) + 1);
  const user: string | null = request.tessera.userId;
  await request.session.regenerate();
  return { user, id: request.session.sessionId };
});
fastify.addHook('preHandler', fastify.tessera.csrf());

export const web: WebSessions = createWebSessions({ secret, store: new MemoryStore() });
export const handler: (request: Request) => Promise<Response> = web.withSession(async (_request, session) => Response.json({ user: session.userId }));

export const hono = new Hono<{ Variables: SessionVariables }>();
const sessions = honoSessions({ secret, store: new MemoryStore() });
hono.use(sessions.middleware, sessions.csrf());
hono.get('/', (c) => c.text(`Hello ${c.get('session').userId ?? 'guest'}`));

export const next = nextSessions({ secret, store: new MemoryStore() });
export const GET: (request: Request) => Promise<Response> = next.route(async (_request, session) => Response.json({ user: session.userId }));
