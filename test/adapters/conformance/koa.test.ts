/** The adapter conformance suite against `tessera/koa`. */
import http from 'node:http';
import { Readable } from 'node:stream';
import Koa from 'koa';
import { koaSessions } from '../../../src/adapters/koa/index.js';
import { listenOn, nextTurn } from './client.js';
import { ROUTES, chunksOf, errorResponse, type AdapterUnderTest } from './contract.js';
import { runAdapterConformance } from './suite.js';

const adapter: AdapterUnderTest = {
  name: 'koa',
  async start(s) {
    const app = new Koa();
    const sessions = koaSessions({ secret: s.secret, store: s.store, now: s.now, storeTimeout: s.storeTimeout, cookie: { name: s.cookieName, secure: false } });
    const csrf = sessions.csrf();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const { status, body } = errorResponse(error);
        ctx.status = status;
        ctx.body = body;
      }
    });
    app.use(sessions.middleware);
    app.use(async (ctx, next) => {
      const route = ROUTES.find((r) => r.method === ctx.method && r.path === ctx.path);
      if (route === undefined) return next();
      const run = async (): Promise<void> => {
        const body = await route.run(() => ctx.tessera, new URLSearchParams(ctx.querystring), () => ctx.csrfToken());
        if (!route.stream) {
          ctx.body = body;
          return;
        }
        const [head, tail] = chunksOf(body);
        ctx.type = 'application/json';
        ctx.body = Readable.from((async function* () {
          yield head;
          await nextTurn();
          yield tail;
        })());
      };
      if (route.csrf) await csrf(ctx, run);
      else await run();
    });
    return listenOn(http.createServer(app.callback()));
  },
};

runAdapterConformance(adapter);
