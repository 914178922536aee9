/**
 * The session status routes for Express: `app.get('/session/status', sessions.status())` and
 * `app.post('/session/keep-alive', sessions.keepAlive())`, for `tessera/browser`'s
 * `watchSession`. Mount them after the session middleware.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TesseraError } from '../../core/errors.js';
import { sessionStatus } from '../../core/status.js';
import { withStoreErrorStatus, type RequestBinding } from './binding.js';

type Handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => Promise<void>;

/**
 * Build the two handlers.
 * @param bindingOf the request's session binding, `undefined` when the session middleware did not run.
 * @param errorStatus the status of a store failure (`storeErrorStatus`).
 */
export function statusRoutes(bindingOf: (req: IncomingMessage) => RequestBinding | undefined, errorStatus: number): { status: () => Handler; keepAlive: () => Handler } {
  const route = (keepAlive: boolean): Handler => async (req, res, next) => {
    const binding = bindingOf(req);
    if (binding === undefined) {
      next(new TesseraError('INVALID_OPTION', `sessions.${keepAlive ? 'keepAlive' : 'status'}(): mount it after the session middleware, on a path the session cookie covers`));
      return;
    }
    try {
      // A status request is not activity: the session is never saved, so polling it cannot
      // keep a session alive. A keep-alive request is: the save extends the idle deadline, at
      // most once per touchInterval (the same throttle as any request).
      if (keepAlive) await binding.rs.save();
      else binding.passive = true;
      const body = JSON.stringify(sessionStatus(binding.rs, { cookie: req.headers.cookie }, binding.now()));
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Cache-Control', 'no-store');
      res.end(body);
    } catch (error) {
      next(withStoreErrorStatus(error, errorStatus));
    }
  };
  return { status: () => route(false), keepAlive: () => route(true) };
}
