/** The adapter conformance suite against `tessera/hono`, served by `@hono/node-server`. */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { honoSessions, type SessionVariables } from '../../../src/adapters/hono/index.js';
import { listenOn, twoChunks } from './client.js';
import { ROUTES, errorResponse, type AdapterUnderTest } from './contract.js';
import { runAdapterConformance } from './suite.js';

const adapter: AdapterUnderTest = {
  name: 'hono',
  async start(s) {
    const app = new Hono<{ Variables: SessionVariables }>();
    const sessions = honoSessions({ secret: s.secret, store: s.store, now: s.now, storeTimeout: s.storeTimeout, cookie: { name: s.cookieName, secure: false } });
    app.use(sessions.middleware);
    const csrf = sessions.csrf();
    for (const route of ROUTES) {
      const handle = async (c: Context<{ Variables: SessionVariables }>): Promise<Response> => {
        const query = new URL(c.req.url).searchParams;
        const body = await route.run(() => c.get('session'), query, () => c.get('csrfToken')());
        if (!route.stream) return c.json(body as object);
        return c.body(twoChunks(body), 200, { 'content-type': 'application/json' });
      };
      if (route.csrf) app.on(route.method, route.path, csrf, handle);
      else app.on(route.method, route.path, handle);
    }
    app.onError((error, c) => {
      const { status, body } = errorResponse(error);
      return c.json(body, status as 403);
    });
    return listenOn(createAdaptorServer({ fetch: app.fetch }) as Server);
  },
};

runAdapterConformance(adapter);
