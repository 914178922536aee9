/**
 * The token client on Node against a real server (`tessera/tokens` behind Express, memory
 * store, frozen clock): one refresh for twenty concurrent calls, a dropped refresh response
 * retried with the old token, and "signed out" once when the family is revoked.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessions, type Engine } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createTokenClient, type TokenClient } from '../../src/tokens/client.js';
import { createTokens, refreshEndpoint, requireAccessToken, type AccessSession, type Tokens } from '../../src/tokens/index.js';
import { frozenClock, MINUTE, type TestClock } from '../helpers/clock.js';
import { listen, SECRET } from '../helpers/express-app.js';

interface Setup {
  clock: TestClock;
  engine: Engine;
  tokens: Tokens;
  client: TokenClient;
  url: string;
  refreshes: () => number;
  signedOut: () => number;
  /** Make the next refresh complete on the server and then drop its response. */
  dropNextRefresh(): void;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function setup(): Promise<Setup> {
  const clock = frozenClock();
  const engine = createSessions({ secret: SECRET, store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now });
  const tokens = createTokens(engine);
  let refreshes = 0;
  let drop = false;
  const app = express();
  app.post('/token/refresh', express.json(), async (req, res, next) => {
    refreshes += 1;
    if (!drop) return refreshEndpoint(tokens)(req, res, next);
    drop = false;
    await tokens.refresh((req.body as { refreshToken?: unknown }).refreshToken); // the server did its part
    req.socket.destroy(); // ... and the answer is lost on the way
  });
  app.get('/me', requireAccessToken(tokens), (req, res) => void res.json({ userId: (req as Request & { tessera: AccessSession }).tessera.userId }));
  app.use((error: { status?: number }, _req: Request, res: Response, _next: NextFunction) => void res.status(error.status ?? 500).json({}));
  const server = await listen(app);
  closers.push(() => server.close());
  let signedOut = 0;
  const client = createTokenClient({ refreshUrl: `${server.url}/token/refresh`, now: clock.now, onSignedOut: () => void (signedOut += 1) });
  return { clock, engine, tokens, client, url: server.url, refreshes: () => refreshes, signedOut: () => signedOut, dropNextRefresh: () => void (drop = true) };
}

const meOf = async (response: globalThis.Response) => ({ status: response.status, body: (await response.json()) as { userId?: string } });

describe('tessera/tokens client on Node', () => {
  it('sends twenty concurrent calls with an expired access token through exactly one refresh', async () => {
    const s = await setup();
    await s.client.signIn(await s.tokens.issue('uma'));
    s.clock.advance(16 * MINUTE);
    const replies = await Promise.all(Array.from({ length: 20 }, async () => meOf(await s.client.fetch(`${s.url}/me`))));
    expect(replies.every((reply) => reply.status === 200 && reply.body.userId === 'uma')).toBe(true);
    expect(s.refreshes()).toBe(1);
  });

  it('refreshes once on a 401 it did not see coming, and retries the call', async () => {
    const s = await setup();
    const pair = await s.tokens.issue('val');
    await s.client.signIn({ accessToken: pair.accessToken, refreshToken: pair.refreshToken }); // no expiry known
    s.clock.advance(16 * MINUTE);
    const replies = await Promise.all(Array.from({ length: 20 }, async () => meOf(await s.client.fetch(`${s.url}/me`))));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(s.refreshes()).toBe(1);
  });

  it('stays signed in when a refresh response is dropped: the retry with the old token gets the same pair', async () => {
    const s = await setup();
    await s.client.signIn(await s.tokens.issue('wes'));
    s.clock.advance(16 * MINUTE);
    s.dropNextRefresh();
    await expect(s.client.fetch(`${s.url}/me`)).rejects.toThrow();
    const retried = await meOf(await s.client.fetch(`${s.url}/me`));
    expect(retried).toEqual({ status: 200, body: { userId: 'wes' } });
    expect(s.refreshes()).toBe(2);
    expect(s.signedOut()).toBe(0);
  });

  it('reports "signed out" once when the family was revoked, and sends no more refreshes', async () => {
    const s = await setup();
    await s.client.signIn(await s.tokens.issue('xia'));
    await s.engine.revokeUser('xia');
    const replies = await Promise.all(Array.from({ length: 5 }, async () => (await s.client.fetch(`${s.url}/me`)).status));
    expect(replies).toEqual([401, 401, 401, 401, 401]);
    expect(s.signedOut()).toBe(1);
    expect((await s.client.fetch(`${s.url}/me`)).status).toBe(401);
    expect(s.refreshes()).toBe(1);
  });
});
