/**
 * The token helpers of every framework over real HTTP: Express (`requireAccessToken`,
 * `refreshEndpoint`), Fastify (`fastifyRequireAccessToken`, `fastifyRefreshEndpoint`) and the
 * Web-standard ones (`withAccessToken`, `refreshHandler`) served by `@hono/node-server`.
 * Each admits a live access token, refuses anything else with 401 and `WWW-Authenticate`,
 * refreshes, detects a replayed refresh token, and never answers a 5xx to a bad request.
 * The clock is frozen.
 */
import http from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express, { type NextFunction, type Request as ExpressRequest, type Response as ExpressResponse } from 'express';
import Fastify, { type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import {
  createTokens,
  fastifyRefreshEndpoint,
  fastifyRequireAccessToken,
  refreshEndpoint,
  refreshHandler,
  requireAccessToken,
  withAccessToken,
  type AccessSession,
  type AccessTokenRequest,
  type Tokens,
} from '../../src/tokens/index.js';
import { listenOn } from '../adapters/conformance/client.js';
import { frozenClock, MINUTE, type TestClock } from '../helpers/clock.js';
import { SECRET } from '../helpers/express-app.js';

interface Served {
  url: string;
  close: () => Promise<void>;
}

/** Each framework serves `GET /api/me` (the guard) and `POST /api/token/refresh`. */
const frameworks: Array<{ name: string; serve(tokens: Tokens): Promise<Served> }> = [
  {
    name: 'express',
    async serve(tokens) {
      const app = express();
      app.get('/api/me', requireAccessToken(tokens), (req, res) => void res.json({ userId: (req as ExpressRequest & { tessera: AccessSession }).tessera.userId }));
      app.post('/api/token/refresh', refreshEndpoint(tokens));
      app.use((error: { status?: number }, _req: ExpressRequest, res: ExpressResponse, _next: NextFunction) => void res.status(error.status ?? 500).json({}));
      return listenOn(http.createServer(app));
    },
  },
  {
    name: 'fastify',
    async serve(tokens) {
      const app = Fastify();
      app.decorateRequest('accessToken', null);
      app.get('/api/me', { preHandler: fastifyRequireAccessToken(tokens) }, async (request) => ({ userId: (request as FastifyRequest & AccessTokenRequest).accessToken.userId }));
      app.post('/api/token/refresh', fastifyRefreshEndpoint(tokens));
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
    },
  },
  {
    name: 'web',
    async serve(tokens) {
      const me = withAccessToken(tokens, (_request, access) => Response.json({ userId: access.userId }));
      const refresh = refreshHandler(tokens);
      const fetchHandler = (request: Request): Promise<Response> | Response => {
        const path = new URL(request.url).pathname;
        if (request.method === 'GET' && path === '/api/me') return me(request);
        if (request.method === 'POST' && path === '/api/token/refresh') return refresh(request);
        return new Response('not found', { status: 404 });
      };
      return listenOn(createAdaptorServer({ fetch: fetchHandler }) as http.Server);
    },
  },
];

/** A request with raw header lines (two `Authorization` lines, say), which `fetch` cannot send. */
function rawGet(url: string, headers: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // Raw header lists get no Host line from Node's client: add it, since servers require one.
    const request = http.request(`${url}/api/me`, { method: 'GET', headers: ['Host', new URL(url).host, ...headers] }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe.each(frameworks)('token helpers on $name', (framework) => {
  let clock: TestClock;
  let tokens: Tokens;
  let served: Served;

  beforeAll(async () => {
    clock = frozenClock();
    const engine = createSessions({ secret: SECRET, store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now });
    tokens = createTokens(engine);
    served = await framework.serve(tokens);
  });
  afterAll(async () => served.close());

  const me = async (authorization?: string) => {
    const response = await fetch(`${served.url}/api/me`, { headers: authorization === undefined ? {} : { authorization } });
    return { status: response.status, body: (await response.json()) as { userId?: string }, wwwAuthenticate: response.headers.get('www-authenticate') };
  };
  const refresh = async (body: string, contentType = 'application/json') => {
    const response = await fetch(`${served.url}/api/token/refresh`, { method: 'POST', headers: { 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, cacheControl: response.headers.get('cache-control') };
  };

  it('admits a live access token and says who it stands for', async () => {
    const pair = await tokens.issue('alice');
    expect(await me(`Bearer ${pair.accessToken}`)).toMatchObject({ status: 200, body: { userId: 'alice' } });
  });

  it('refuses a missing, malformed, forged or expired token with 401 and WWW-Authenticate', async () => {
    const pair = await tokens.issue('alice');
    expect(await me()).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
    expect(await me('Basic YWxpY2U6cHc=')).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer' });
    expect(await me('Bearer two words')).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_request"' });
    expect(await me(`Bearer ${pair.accessToken.slice(0, -3)}AAA`)).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
    expect(await me(`Bearer ${pair.refreshToken}`)).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
    expect(await me(`Bearer ${'x'.repeat(5000)}`)).toMatchObject({ status: 401 });
    clock.advance(16 * MINUTE);
    expect(await me(`Bearer ${pair.accessToken}`)).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
  });

  it('refuses a request with two Authorization lines, even if one holds a live token', async () => {
    const pair = await tokens.issue('alice');
    expect(await rawGet(served.url, ['Authorization', `Bearer ${pair.accessToken}`, 'Authorization', `Bearer ${pair.accessToken}`])).toBe(401);
    expect(await rawGet(served.url, ['Authorization', `Bearer ${pair.accessToken}`])).toBe(200);
  });

  it('refreshes, and revokes the family when a retired refresh token comes back', async () => {
    const pair = await tokens.issue('bob');
    clock.advance(MINUTE);
    const first = await refresh(JSON.stringify({ refreshToken: pair.refreshToken }));
    expect(first).toMatchObject({ status: 200, cacheControl: 'no-store', body: { tokenType: 'Bearer', expiresIn: 15 * 60 } });
    const next = await refresh(JSON.stringify({ refreshToken: first.body['refreshToken'] }));
    expect(next.status).toBe(200);
    expect(await refresh(JSON.stringify({ refreshToken: pair.refreshToken }))).toMatchObject({ status: 401, cacheControl: 'no-store', body: { error: 'invalid_grant', reason: 'reuse_detected' } });
    expect((await me(`Bearer ${String(next.body['accessToken'])}`)).status).toBe(401);
  });

  it('answers a bad refresh request with 401 invalid_grant, never a 5xx', async () => {
    for (const [body, type] of [['{', 'application/json'], ['{"refreshToken": 42}', 'application/json'], ['[]', 'application/json'], [JSON.stringify({ refreshToken: 'x'.repeat(8000) }), 'application/json']] as const) {
      const reply = await refresh(body, type);
      expect(reply.status, body.slice(0, 20)).toBeLessThan(500);
      expect(reply.status, body.slice(0, 20)).toBeGreaterThanOrEqual(400);
    }
    expect(await refresh(JSON.stringify({ refreshToken: 'tr1.x.y.z.w' }))).toMatchObject({ status: 401, body: { error: 'invalid_grant', reason: 'invalid' } });
  });
});
