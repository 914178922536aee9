/**
 * Start the demo: `npm start`, then open http://localhost:3000.
 *
 * Environment:
 * - `PORT`: port to listen on (default 3000).
 * - `SESSION_SECRET`: cookie signing secret, at least 32 bytes. Without it a random one is made
 *   at startup, so sessions do not survive a restart.
 * - `TESSERA_DB`: SQLite file (default `demo/tessera-demo.db`).
 * - `NODE_ENV=production`: behind TLS; `__Host-sid` cookie, always `Secure`.
 * - `TRUST_PROXY=1`: trust one reverse proxy's `X-Forwarded-*` headers.
 * - `IDLE_TIMEOUT`, `ABSOLUTE_TIMEOUT`, `ROTATE_EVERY`, `SIGNIN_TIMEOUT`: durations such as `90`
 *   (seconds), `20s`, `2m`, `1h`, to try the timeouts in minutes (default 30 min, 12 h, 15 min,
 *   10 min).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createApp } from './app.js';
import { timingsFrom } from './config.js';

const logger = pino();

const port = Number(process.env['PORT'] ?? 3000);
const database = process.env['TESSERA_DB'] ?? fileURLToPath(new URL('./tessera-demo.db', import.meta.url));
let secret = process.env['SESSION_SECRET'];
if (secret === undefined || secret === '') {
  secret = randomBytes(32).toString('base64url');
  logger.warn('No SESSION_SECRET set: using a random one, so sessions will not survive a restart.');
}

let timings: ReturnType<typeof timingsFrom>;
try {
  timings = timingsFrom(process.env);
} catch (error) {
  logger.error((error as Error).message);
  process.exit(1);
}

const { app, close } = await createApp({
  secret,
  database,
  production: process.env['NODE_ENV'] === 'production',
  trustProxy: process.env['TRUST_PROXY'] === '1',
  logger,
  timings,
});

const server = app.listen(port, (error) => {
  if (error) {
    logger.error(`Cannot listen on port ${port}: ${error.message}`);
    void close().finally(() => process.exit(1));
    return;
  }
  logger.info(`tessera demo on http://localhost:${port} (sessions in ${database})`);
});

function shutdown(): void {
  server.close(() => {
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'cannot close the session store');
        process.exit(1);
      },
    );
  });
  // Keep-alive connections would hold close() open; end idle ones now.
  server.closeIdleConnections();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
