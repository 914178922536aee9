/**
 * The demo's API for clients that cannot keep a cookie (a phone app, a script): sign in with a
 * password for an access token and a refresh token (`tessera/tokens`), call `/api/me` with
 * the access token, refresh, and sign out. The page `/api.html` drives it with
 * `tessera/client`. Mounted before the cookie session middleware: nothing here reads or sets
 * the session cookie, and bearer requests need no CSRF guard (they carry no ambient credential).
 * @module
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { isTesseraError, type Engine } from '../src/index.js';
import { createTokens, refreshEndpoint, requireAccessToken, type AccessSession } from '../src/tokens/index.js';
import type { UserDirectory } from './users.js';

/** The `/api` router of the demo. */
export function apiRouter(engine: Engine, users: UserDirectory, logger: Logger): Router {
  const tokens = createTokens(engine);
  const api = express.Router();
  api.use(express.json({ limit: '4kb' }));
  // Every answer here may hold a token or personal data.
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  api.post('/login', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const username = typeof body['username'] === 'string' ? body['username'] : '';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const user = await users.authenticate(username, password);
    if (user === null) return void res.status(401).json({ error: 'invalid_credentials' });
    const device = typeof body['device'] === 'string' && body['device'] !== '' ? body['device'] : 'API client';
    res.json(await tokens.issue(user.id, { device }, { ip: req.ip, userAgent: req.get('user-agent'), method: req.method, path: req.path }));
  });

  api.post('/token/refresh', refreshEndpoint(tokens));

  api.post('/logout', async (req, res) => {
    const refreshToken = ((req.body ?? {}) as Record<string, unknown>)['refreshToken'];
    await tokens.revoke(refreshToken);
    res.status(204).end();
  });

  api.get('/me', requireAccessToken(tokens), (req, res) => {
    const access = (req as Request & { tessera: AccessSession }).tessera;
    const user = users.find(access.userId);
    res.json({ user: user === null ? null : { id: user.id, name: user.name }, signedInAt: access.authenticatedAt, accessExpiresAt: access.expiresAt });
  });

  api.use((_req: Request, res: Response) => void res.status(404).json({ error: 'not_found' }));
  api.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (isTesseraError(error, 'NOT_AUTHENTICATED')) return void res.status(401).json({ error: 'invalid_token' });
    if (isTesseraError(error, 'STORE_UNAVAILABLE')) return void res.status(503).json({ error: 'unavailable' });
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) return void res.status(status).json({ error: 'bad_request' });
    logger.error({ err: error }, 'API request failed');
    res.status(500).json({ error: 'internal' });
  });
  return api;
}
