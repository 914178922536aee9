/**
 * tessera/express and tessera/web (with tessera/hono and tessera/next on it) read the session
 * token from a request header; Koa and Fastify do not yet. They must refuse the header
 * transports when they are created, with an error that says so, instead of handing out
 * `Tessera-Session` tokens they would never read back.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import tesseraFastify from '../../src/adapters/fastify/index.js';
import { koaSessions } from '../../src/adapters/koa/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { catchError } from '../helpers/errors.js';

const SECRET = 'header-transport-refused-secret-0123456789abc';
const base = () => ({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }) });

const factories: Array<[string, (transport: 'cookie' | 'header' | 'both') => unknown]> = [
  ['tessera/koa', (transport) => koaSessions({ ...base(), transport })],
];

describe('adapters that read only the cookie', () => {
  it.each(factories)('%s refuses the header transports with INVALID_OPTION, and takes the cookie one', (name, make) => {
    for (const transport of ['header', 'both'] as const) {
      const error = catchError(() => make(transport));
      expect(isTesseraError(error, 'INVALID_OPTION'), `${name} with transport '${transport}'`).toBe(true);
      expect((error as Error).message).toContain('tessera/express');
    }
    expect(() => make('cookie')).not.toThrow();
  });

  it('tessera/fastify fails registration with INVALID_OPTION for a header transport', async () => {
    for (const transport of ['header', 'both'] as const) {
      const app = Fastify();
      const failure = await app.register(tesseraFastify as never, { ...base(), transport } as never).ready().then(() => undefined, (error: unknown) => error);
      expect(isTesseraError(failure, 'INVALID_OPTION'), `transport '${transport}'`).toBe(true);
      await app.close().catch(() => undefined);
    }
    const ok = Fastify();
    await expect(ok.register(tesseraFastify as never, { ...base(), transport: 'cookie' } as never).ready()).resolves.toBeDefined();
    await ok.close();
  });
});
