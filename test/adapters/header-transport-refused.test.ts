/**
 * tessera/express, tessera/web (with tessera/hono and tessera/next on it) and tessera/koa read
 * the session token from a request header; tessera/fastify does not yet. It must refuse the
 * header transports when it is registered, with an error that says so, instead of handing out
 * `Tessera-Session` tokens it would never read back.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import tesseraFastify from '../../src/adapters/fastify/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';

const SECRET = 'header-transport-refused-secret-0123456789abc';
const base = () => ({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }) });

describe('tessera/fastify, which reads only the cookie', () => {
  it('fails registration with INVALID_OPTION for a header transport, and takes the cookie one', async () => {
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
