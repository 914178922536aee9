/**
 * Until an adapter reads the session token from a request header (today only tessera/express
 * does, see the README's "API and mobile clients"), it must refuse the header transports at
 * construction: an app that asked for them would hand out tokens in `Tessera-Session` and never
 * read them back, and its API clients would never be signed in.
 * @module
 */
import type { Engine } from '../core/engine.js';
import { TesseraError } from '../core/errors.js';

/**
 * Refuse `transport: 'header'` or `'both'` for an adapter that reads only the cookie.
 * @param adapter the adapter's import name, for the message (e.g. `'tessera/fastify'`).
 * @throws TesseraError `INVALID_OPTION` when the engine's transport is not `'cookie'`.
 */
export function requireCookieTransport(engine: Engine, adapter: string): void {
  const transport = engine.options.transport;
  if (transport === 'cookie') return;
  throw new TesseraError(
    'INVALID_OPTION',
    `${adapter} reads the session from its cookie only; transport: '${transport}' works with tessera/express for now. ` +
      "Leave transport out (or set it to 'cookie') here.",
  );
}
