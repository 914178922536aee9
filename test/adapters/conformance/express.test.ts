/** The adapter conformance suite against `tessera/express`. */
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from '../../../src/adapters/express/index.js';
import { listenOn, nextTurn } from './client.js';
import { ROUTES, chunksOf, errorResponse, type AdapterUnderTest } from './contract.js';
import { runAdapterConformance } from './suite.js';

const adapter: AdapterUnderTest = {
  name: 'express',
  async start(s) {
    const middleware = session({ secret: s.secret, store: s.store, now: s.now, storeTimeout: s.storeTimeout, name: s.cookieName, cookie: { secure: false }, saveUninitialized: false, resave: false, saveErrors: 'instead-of-response' });
    const app = express();
    app.use(middleware);
    const csrf = middleware.csrf();
    for (const route of ROUTES) {
      const handle = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
        try {
          const query = new URL(req.originalUrl, 'http://x').searchParams;
          const body = await route.run(() => req.tessera, query, () => req.csrfToken());
          if (!route.stream) {
            res.json(body);
            return;
          }
          const [head, tail] = chunksOf(body);
          res.type('json').write(head);
          await nextTurn();
          res.end(tail);
        } catch (error) {
          next(error);
        }
      };
      const handlers = route.csrf ? [csrf, handle] : [handle];
      if (route.method === 'GET') app.get(route.path, ...handlers);
      else app.post(route.path, ...handlers);
    }
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const { status, body } = errorResponse(error);
      res.status(status).json(body);
    });
    return listenOn(http.createServer(app));
  },
};

runAdapterConformance(adapter);
