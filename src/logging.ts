/**
 * `tessera/logging`: audit events into pino (or any logger with level methods), and `:session`
 * / `:user` tokens for morgan access logs. What is logged is the session reference (an HMAC of
 * the store key), the user id, IP, method, path, event and reason: never the token or the
 * cookie value.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { EventListener, SessionEvent } from './core/events.js';
import type { RequestSession } from './core/request-session.js';

/** The part of a pino logger (or bunyan, winston, console) the listener uses. */
export interface LevelLogger {
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
}

/** Events that deserve attention rather than routine auditing. */
const WARNING_EVENTS = new Set<SessionEvent['type']>(['invalid_token', 'invalid_record', 'store_error', 'revoked', 'reuse_detected', 'setup_warning']);

/**
 * An `onEvent` listener that writes each event as one structured log line: `warn` for cookies
 * tessera did not issue, corrupt records, store errors, revocations, replays and setup
 * warnings; `info` for the rest (a `stale_cookie`, a browser returning after its session
 * ended, is routine). The object is the event itself
 * (`type`, `time`, `sessionRef`, `userId`, `ip`, `userAgent`, `method`, `path`, `reason`, ...)
 * under the key `session`.
 * @example
 * const logger = pino();
 * app.use(session({ secret, store, onEvent: logEvents(logger) }));
 */
export function logEvents(logger: LevelLogger): EventListener {
  return (event) => {
    const line = { session: event };
    const message = `session ${event.type}`;
    if (WARNING_EVENTS.has(event.type)) logger.warn(line, message);
    else logger.info(line, message);
  };
}

/** The part of morgan used to register tokens. */
export interface MorganLike {
  token(name: string, callback: (req: IncomingMessage) => string | undefined): unknown;
}

/**
 * Register `:session` (the session reference, `-` without a stored session) and `:user` (the
 * signed-in user id, `-` when anonymous) with morgan.
 * @example
 * registerMorganTokens(morgan);
 * app.use(morgan(':method :url :status :session :user'));
 */
export function registerMorganTokens(morgan: MorganLike): void {
  morgan.token('session', (req) => {
    const rs = sessionOf(req);
    return rs === undefined || rs.isNew ? '-' : rs.ref;
  });
  morgan.token('user', (req) => sessionOf(req)?.userId ?? '-');
}

function sessionOf(req: IncomingMessage): RequestSession | undefined {
  return (req as IncomingMessage & { tessera?: RequestSession }).tessera;
}
