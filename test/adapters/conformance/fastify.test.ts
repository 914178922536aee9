/** The adapter conformance suite against `tessera/fastify`. */
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import session from '../../../src/adapters/fastify/index.js';
import { nextTurn } from './client.js';
import { ROUTES, chunksOf, errorResponse, type AdapterUnderTest } from './contract.js';
import { runAdapterConformance } from './suite.js';

const adapter: AdapterUnderTest = {
  name: 'fastify',
  async start(s) {
    const app = Fastify();
    await app.register(session, { secret: s.secret, store: s.store, now: s.now, storeTimeout: s.storeTimeout, cookieName: s.cookieName, cookie: { secure: false }, saveUninitialized: false });
    const csrf = app.tessera.csrf();
    for (const route of ROUTES) {
      app.route({
        method: route.method,
        url: route.path,
        ...(route.csrf && { preHandler: csrf }),
        handler: async (request, reply) => {
          const query = new URL(request.url, 'http://x').searchParams;
          const body = await route.run(() => request.tessera, query, () => request.csrfToken());
          if (!route.stream) return body;
          const [head, tail] = chunksOf(body);
          const stream = Readable.from((async function* () {
            yield head;
            await nextTurn();
            yield tail;
          })());
          return reply.type('application/json').send(stream);
        },
      });
    }
    app.setErrorHandler((error, _request, reply) => {
      const { status, body } = errorResponse(error);
      return reply.status(status).send(body);
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
};

runAdapterConformance(adapter);
