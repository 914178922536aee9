/**
 * Express guards built on the session.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TesseraError, isTesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';

/** Options of {@link requireFresh}. */
export interface RequireFreshOptions {
  /** How recent the sign-in must be, in ms. */
  maxAge: number;
}

/**
 * Step-up guard for sensitive routes: passes a `TesseraError` to `next` (`NOT_AUTHENTICATED`,
 * 401, without a user; `NOT_FRESH`, 403, when the sign-in is older than `maxAge` ms), so the app's
 * error handler can send the user to re-authenticate.
 * @example app.post('/account/email', session.requireFresh({ maxAge: 5 * 60_000 }), changeEmail)
 */
export function requireFresh(options: RequireFreshOptions) {
  if (typeof options !== 'object' || options === null || !(Number.isFinite(options.maxAge) && options.maxAge > 0)) {
    throw new TesseraError('INVALID_OPTION', 'requireFresh: maxAge must be a positive number of ms');
  }
  return (req: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void => {
    const rs = (req as IncomingMessage & { tessera?: RequestSession }).tessera;
    if (rs === undefined) {
      next(new TesseraError('NOT_AUTHENTICATED', 'Sign-in required'));
      return;
    }
    try {
      rs.requireFresh(options.maxAge);
      next();
    } catch (error) {
      next(isTesseraError(error) ? error : new TesseraError('NOT_AUTHENTICATED', 'Sign-in required'));
    }
  };
}
