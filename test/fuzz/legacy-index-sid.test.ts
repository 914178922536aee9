/**
 * Regression: tessera's per-user index entries share the key space of an express-session store
 * (`tessera-user:<userId>`). A cookie `s:tessera-user:<id>.<sig>` signed with the weak secret kept
 * for migration must not "migrate" the index into an attacker's session (deleting it, so that
 * sign-out-everywhere and revocation miss the victim's sessions).
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import expressSession from 'express-session';
import { afterAll, beforeAll, expect, it } from 'vitest';
import session, { type ExpressSessionStore, type SessionObject } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';

const STRONG = 'a-strong-secret-of-at-least-32-bytes-0123456789';
const WEAK = 'keyboard cat';
const store = new expressSession.MemoryStore();
const events: SessionEvent[] = [];
let server: http.Server;
let base: string;

const sess = (req: Request): SessionObject => (req as unknown as { session: SessionObject }).session;

beforeAll(async () => {
  const app = express();
  app.use(session({ secret: [STRONG, WEAK], store: store as unknown as ExpressSessionStore, onEvent: (e) => void events.push(e) }));
  app.get('/sign-in', async (req: Request, res: Response) => {
    await sess(req).signIn('alice');
    res.end();
  });
  app.get('/me', (req: Request, res: Response) => {
    res.json({ data: { ...sess(req) }, isNew: (req as unknown as { tessera: { isNew: boolean } }).tessera.isNew });
  });
  app.get('/sign-out-everywhere', async (req: Request, res: Response) => {
    res.json({ count: await sess(req).signOutEverywhere() });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const cookieOf = (response: globalThis.Response): string => response.headers.get('set-cookie')!.split(';')[0]!;
const legacyCookie = (sid: string, secret: string): string =>
  `connect.sid=${encodeURIComponent(`s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`)}`;

it('does not migrate tessera’s own per-user index entry presented as an express-session id', async () => {
  const laptop = cookieOf(await fetch(`${base}/sign-in`));
  const phone = cookieOf(await fetch(`${base}/sign-in`));

  events.length = 0;
  const attack = await fetch(`${base}/me`, { headers: { cookie: legacyCookie('tessera-user:alice', WEAK) } });
  const seen = (await attack.json()) as { data: Record<string, unknown>; isNew: boolean };
  // Before the fix: data.tesseraUserIndex = [the store keys of both of Alice's sessions], a new
  // session cookie for the attacker, and the index entry deleted from the store.
  expect(seen.data['tesseraUserIndex']).toBeUndefined();
  expect(attack.headers.get('set-cookie') ?? '').not.toMatch(/^connect\.sid=v1\./);
  expect(events.map((e) => e.type)).toEqual(['stale_cookie']);

  // Sign-out everywhere from the laptop must still end the phone's session.
  const signOut = (await (await fetch(`${base}/sign-out-everywhere`, { headers: { cookie: laptop } })).json()) as { count: number };
  expect(signOut.count).toBe(2);
  const phoneAfter = (await (await fetch(`${base}/me`, { headers: { cookie: phone } })).json()) as { isNew: boolean };
  expect(phoneAfter.isNew).toBe(true);
});
