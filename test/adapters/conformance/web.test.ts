/**
 * The adapter conformance suite against the bare `tessera/web` adapter: a Fetch handler
 * (`withSession` for most routes, `load` + `csrf` + `commit` for the guarded ones), served over
 * real HTTP by `@hono/node-server`'s Node adapter, with no framework in between.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { createWebSessions } from '../../../src/adapters/web/index.js';
import { listenOn, twoChunks } from './client.js';
import { ROUTES, errorResponse, type AdapterUnderTest } from './contract.js';
import { runAdapterConformance } from './suite.js';

type Env = { incoming: { socket: { remoteAddress?: string | undefined } } };

const adapter: AdapterUnderTest = {
  name: 'web',
  async start(s) {
    const sessions = createWebSessions({ secret: s.secret, store: s.store, now: s.now, storeTimeout: s.storeTimeout, cookie: { name: s.cookieName, secure: false } });
    const failed = (error: unknown): Response => {
      const { status, body } = errorResponse(error);
      return Response.json(body, { status });
    };
    const routes = new Map(
      ROUTES.map((route) => {
        const respond = (body: unknown): Response => (route.stream ? new Response(twoChunks(body), { headers: { 'content-type': 'application/json' } }) : Response.json(body));
        if (!route.csrf) {
          const handler = sessions.withSession<[Env]>(async (request, session) => respond(await route.run(() => session, new URL(request.url).searchParams, () => '')), {
            onError: failed,
            context: (_request, env) => ({ ip: env.incoming.socket.remoteAddress }),
          });
          return [`${route.method} ${route.path}`, handler];
        }
        const handler = async (request: Request): Promise<Response> => {
          try {
            const ws = await sessions.load(request);
            const refused = await sessions.csrf(request, ws);
            if (refused !== undefined) throw refused;
            return await ws.commit(respond(await route.run(() => ws.session, new URL(request.url).searchParams, () => ws.csrfToken())));
          } catch (error) {
            return failed(error);
          }
        };
        return [`${route.method} ${route.path}`, handler];
      }),
    );
    const fetch = (request: Request, env: Env): Promise<Response> | Response =>
      routes.get(`${request.method} ${new URL(request.url).pathname}`)?.(request, env) ?? new Response('not found', { status: 404 });
    return listenOn(createAdaptorServer({ fetch }) as Server);
  },
};

runAdapterConformance(adapter);
