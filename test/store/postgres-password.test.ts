/**
 * A wrong PostgreSQL password, the most common store misconfiguration, with the Express
 * drop-in: the app's error handler receives a `STORE_UNAVAILABLE` error whose cause is the
 * driver's own error, `store_error` says why (without the password), and no request hangs.
 * Both ways of reaching PostgreSQL: tessera's PostgresStore, and connect-pg-simple behind the
 * drop-in. On a private server with password authentication (the shared one trusts loopback).
 */
import connectPgSimple from 'connect-pg-simple';
import express, { type NextFunction, type Request, type Response } from 'express';
import expressSession from 'express-session';
import { Pool } from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { SECRET, cookieOf } from '../adapters/express-helpers.js';
import { createSessionTable } from '../helpers/servers.js';
import { privatePostgres, type PrivatePostgres } from '../helpers/sql-servers.js';
import { unavailable } from '../helpers/unavailable.js';

const RIGHT_PASSWORD = 'the-right-password-7c1e';
const WRONG_PASSWORD = 'a-wrong-password-93ab';
/** PostgreSQL's SQLSTATE for a failed password authentication. */
const INVALID_PASSWORD = '28P01';

const server = await privatePostgres({ password: RIGHT_PASSWORD });
if ('skip' in server && process.env['CI'] === 'true') {
  throw new Error(`the PostgreSQL password tests cannot run: ${server.skip}; CI=true requires them`);
}

/** An app with the drop-in on `store`, recording the errors its error handler receives. */
function appOn(store: NonNullable<ExpressSessionOptions['store']>) {
  const events: SessionEvent[] = [];
  const seen: unknown[] = [];
  const app = express();
  app.use(session({ secret: SECRET, store, onEvent: (event) => void events.push(event) }));
  app.get('/set', (req, res) => {
    (req.session as unknown as Record<string, unknown>)['n'] = 1;
    res.send('ok');
  });
  app.get('/read', (req, res) => {
    res.send(String((req.session as unknown as Record<string, unknown>)['n'] ?? 'none'));
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    seen.push(error);
    if (res.headersSent) return;
    const status = (error as { status?: number }).status ?? 500;
    res.status(status).send((error as { code?: string }).code ?? 'error');
  });
  return { app, events, seen };
}

/** A session cookie signed with {@link SECRET} (minted elsewhere): a request that makes the store look it up. */
async function signedCookie(): Promise<string> {
  const minting = express();
  minting.use(session({ secret: SECRET, store: new MemoryStore() }));
  minting.get('/', (req, res) => {
    (req.session as unknown as Record<string, unknown>)['n'] = 1;
    res.send('minted');
  });
  return cookieOf(await request(minting).get('/').expect(200));
}

/** What every failure must look like to the app and in the events. */
function expectWrongPassword(error: unknown, events: SessionEvent[]): void {
  expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503, expose: false });
  const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
  expect(cause?.code).toBe(INVALID_PASSWORD);
  expect((error as Error).message).toMatch(/password authentication failed/);
  const storeErrors = events.filter((e): e is Extract<SessionEvent, { type: 'store_error' }> => e.type === 'store_error');
  expect(storeErrors.length).toBeGreaterThan(0);
  expect(storeErrors[0]!.causeMessage).toMatch(/password authentication failed for user "postgres"/);
  expect(storeErrors[0]!.errorCode).toBe('STORE_UNAVAILABLE');
  for (const text of [(error as Error).message, JSON.stringify(events)]) {
    expect(text).not.toContain(WRONG_PASSWORD);
    expect(text).not.toContain(RIGHT_PASSWORD);
  }
}

if ('skip' in server) {
  // Reached only outside CI: under CI=true a missing server fails the run above.
  unavailable('reports a wrong PostgreSQL password to the app', server.skip);
} else {
  describe('a wrong PostgreSQL password with the Express drop-in (private server, password auth)', () => {
    const pg: PrivatePostgres = server;
    const wrongUrl = pg.url.replace(encodeURIComponent(RIGHT_PASSWORD), encodeURIComponent(WRONG_PASSWORD));
    let cookie: string;
    const closers: Array<() => Promise<unknown>> = [];

    beforeAll(async () => {
      await pg.start();
      cookie = await signedCookie();
    });

    afterAll(async () => {
      for (const close of closers) await close().catch(() => undefined);
      await pg.destroy();
    });

    it('PostgresStore: the error handler gets STORE_UNAVAILABLE caused by the driver error, for a read and for a write', async () => {
      expect(wrongUrl).not.toBe(pg.url);
      const store = new PostgresStore({ connectionString: wrongUrl, purgeIntervalMs: 0 });
      closers.push(() => store.close());
      const { app, events, seen } = appOn(store);

      // A request with a cookie: the load fails, the error handler answers.
      await request(app).get('/read').set('Cookie', cookie).expect(503, 'STORE_UNAVAILABLE');
      expect(seen).toHaveLength(1);
      expectWrongPassword(seen[0], events);

      // A new session: the app's response goes out (as in express-session), without a cookie,
      // then the error reaches the handler.
      const res = await request(app).get('/set').expect(200, 'ok');
      expect(res.headers['set-cookie']).toBeUndefined();
      await vi.waitFor(() => expect(seen).toHaveLength(2));
      expectWrongPassword(seen[1], events);
    });

    it('the same app with the right password works (the failure was the password)', async () => {
      const store = new PostgresStore({ connectionString: pg.url, purgeIntervalMs: 0 });
      closers.push(() => store.close());
      const { app, seen } = appOn(store);
      const created = await request(app).get('/set').expect(200, 'ok');
      await request(app).get('/read').set('Cookie', cookieOf(created)).expect(200, '1');
      expect(seen).toEqual([]);
    });

    it('connect-pg-simple behind the drop-in: the same error, with the same cause', async () => {
      const table = 'session_password_test';
      const admin = new Pool({ connectionString: pg.url });
      closers.push(() => admin.end());
      await createSessionTable(admin, table);
      const pool = new Pool({ connectionString: wrongUrl });
      closers.push(() => pool.end());
      const PgSessionStore = connectPgSimple(expressSession);
      const store = new PgSessionStore({ pool, tableName: table, pruneSessionInterval: false });
      const { app, events, seen } = appOn(store);
      await request(app).get('/read').set('Cookie', cookie).expect(503, 'STORE_UNAVAILABLE');
      expect(seen).toHaveLength(1);
      expectWrongPassword(seen[0], events);
    });
  });
}
