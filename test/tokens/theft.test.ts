/**
 * `tessera/tokens` over real HTTP on every store kind: a refresh token stolen and used in
 * either order ends the family for both holders with one `reuse_detected`; a refresh response
 * lost on the network is retried with the old token and keeps the user signed in; a
 * revocation ends the API session at its next request. The clock is frozen and moved by hand.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessions, type Engine } from '../../src/core/engine.js';
import type { SessionEvent } from '../../src/core/events.js';
import { createTokens, refreshEndpoint, requireAccessToken, type AccessSession, type TokenPair, type Tokens } from '../../src/tokens/index.js';
import { frozenClock, HOUR, MINUTE, T0, type TestClock } from '../helpers/clock.js';
import { storeKinds, type OpenStore } from '../helpers/every-store.js';
import { listen, SECRET } from '../helpers/express-app.js';

const DAY = 24 * HOUR;
const found = await storeKinds();
for (const skipped of found.skipped) console.warn(`tokens: ${skipped.name} skipped (${skipped.reason})`);

interface Api {
  clock: TestClock;
  events: SessionEvent[];
  engine: Engine;
  tokens: Tokens;
  login(user: string): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
  me(accessToken: string): Promise<{ status: number; userId?: string; wwwAuthenticate: string | null }>;
}

describe.each(found.kinds)('tokens on $name', (kind) => {
  let api: Api;
  let opened: OpenStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    // connect-redis expires entries on the real clock: start the frozen clock there for it.
    const clock = frozenClock(kind.fakeClock ? T0 : Date.now());
    opened = await kind.open(clock.now);
    const events: SessionEvent[] = [];
    const engine = createSessions({ secret: SECRET, store: opened.store, now: clock.now, onEvent: (event) => events.push(event) });
    const tokens = createTokens(engine);
    const app = express();
    app.post('/api/login/:user', async (req, res) => void res.json(await tokens.issue(String(req.params['user']), { device: 'iPhone 15' })));
    app.post('/api/token/refresh', refreshEndpoint(tokens));
    app.get('/api/me', requireAccessToken(tokens), (req, res) => void res.json({ userId: (req as Request & { tessera: AccessSession }).tessera.userId }));
    app.use((error: { status?: number }, _req: Request, res: Response, _next: NextFunction) => void res.status(error.status ?? 500).json({}));
    const server = await listen(app);
    close = async () => {
      await server.close();
      await opened.close();
    };
    const post = async (path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? '' : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    api = {
      clock,
      events,
      engine,
      tokens,
      login: async (user) => (await post(`/api/login/${user}`)).body as unknown as TokenPair,
      refresh: (refreshToken) => post('/api/token/refresh', { refreshToken }),
      async me(accessToken) {
        const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
        const body = (await response.json()) as { userId?: string };
        return { status: response.status, ...body, wwwAuthenticate: response.headers.get('www-authenticate') };
      },
    };
  });
  afterAll(async () => close());

  const reuses = (): number => api.events.filter((event) => event.type === 'reuse_detected').length;
  const pairOf = (reply: { body: Record<string, unknown> }): TokenPair => reply.body as unknown as TokenPair;

  it('signs in an API client with an access token that works for 15 minutes', async () => {
    const pair = await api.login('ana');
    expect(await api.me(pair.accessToken)).toMatchObject({ status: 200, userId: 'ana' });
    api.clock.advance(15 * MINUTE);
    expect(await api.me(pair.accessToken)).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer error="invalid_token"' });
    const refreshed = await api.refresh(pair.refreshToken);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(await api.me(pairOf(refreshed).accessToken)).toMatchObject({ status: 200, userId: 'ana' });
  });

  it('revokes the family when a thief refreshes after the victim did: both signed out, reuse_detected once', async () => {
    const stolen = await api.login('victim-1');
    const before = reuses();
    const victim1 = pairOf(await api.refresh(stolen.refreshToken));
    const victim2 = pairOf(await api.refresh(victim1.refreshToken));
    expect(await api.me(victim2.accessToken)).toMatchObject({ status: 200 });
    const thief = await api.refresh(stolen.refreshToken);
    expect(thief).toMatchObject({ status: 401, body: { error: 'invalid_grant', reason: 'reuse_detected' } });
    expect(await api.me(victim2.accessToken)).toMatchObject({ status: 401 });
    expect((await api.refresh(victim2.refreshToken)).body).toMatchObject({ reason: 'unknown' });
    expect(reuses() - before).toBe(1);
    expect(await api.engine.listUserSessions('victim-1')).toEqual([]);
  });

  it('revokes the family when the victim refreshes after the thief did', async () => {
    const stolen = await api.login('victim-2');
    const before = reuses();
    const thief1 = pairOf(await api.refresh(stolen.refreshToken));
    const thief2 = pairOf(await api.refresh(thief1.refreshToken));
    const victim = await api.refresh(stolen.refreshToken);
    expect(victim.body).toMatchObject({ reason: 'reuse_detected' });
    expect(await api.me(thief2.accessToken)).toMatchObject({ status: 401 });
    expect((await api.refresh(thief2.refreshToken)).body).toMatchObject({ reason: 'unknown' });
    expect(reuses() - before).toBe(1);
  });

  it('gives the same pair again when a refresh response was lost, and the client stays signed in', async () => {
    const first = await api.login('phone-user');
    const lost = await api.refresh(first.refreshToken); // the client never saw this answer
    const retried = await api.refresh(first.refreshToken);
    expect(retried.status).toBe(200);
    expect(pairOf(retried).refreshToken).toBe(pairOf(lost).refreshToken);
    expect(pairOf(retried).accessToken).toBe(pairOf(lost).accessToken);
    expect(await api.me(pairOf(retried).accessToken)).toMatchObject({ status: 200, userId: 'phone-user' });
    const next = await api.refresh(pairOf(retried).refreshToken);
    expect(next.status).toBe(200);
    expect(pairOf(next).refreshToken).not.toBe(pairOf(retried).refreshToken);
  });

  it('gives every one of parallel refreshes with one token the same pair, and detects no theft', async () => {
    const first = await api.login('tabs');
    const before = reuses();
    for (const token of [first.refreshToken, undefined]) {
      const start = token ?? pairOf(await api.refresh(first.refreshToken)).refreshToken;
      const replies = await Promise.all(Array.from({ length: 8 }, () => api.refresh(start)));
      expect(replies.map((reply) => reply.status)).toEqual(Array(8).fill(200));
      expect(new Set(replies.map((reply) => pairOf(reply).refreshToken)).size).toBe(1);
    }
    expect(reuses() - before).toBe(0);
  });

  it('treats a lost response retried after the retry window as a replay', async () => {
    const first = await api.login('late-user');
    const before = reuses();
    await api.refresh(first.refreshToken);
    api.clock.advance(11 * MINUTE); // retryWindow is 10 min
    expect((await api.refresh(first.refreshToken)).body).toMatchObject({ reason: 'reuse_detected' });
    expect(reuses() - before).toBe(1);
  });

  it('lists the family with the user’s sessions as a phone, and revokeUser ends it at the next request', async () => {
    const pair = await api.login('listed');
    expect(await api.engine.listUserSessions('listed')).toEqual([expect.objectContaining({ kind: 'tokens', device: 'iPhone 15' })]);
    expect(await api.engine.revokeUser('listed')).toBe(1);
    expect(await api.me(pair.accessToken)).toMatchObject({ status: 401 });
    expect((await api.refresh(pair.refreshToken)).body).toMatchObject({ reason: 'unknown' });
  });

  it('ends a family 30 days after the sign-in, however often it is refreshed', async () => {
    let pair = await api.login('long-lived');
    for (let day = 0; day < 29; day++) {
      api.clock.advance(DAY);
      const reply = await api.refresh(pair.refreshToken);
      expect(reply.status).toBe(200);
      pair = pairOf(reply);
    }
    api.clock.advance(DAY);
    const last = await api.refresh(pair.refreshToken);
    expect(last.status).toBe(401);
    // A store that keeps nothing past the deadline (the legacy adapter) has forgotten the family.
    expect(last.body['reason']).toBe(opened.store.expiryGraceMs === 0 ? 'unknown' : 'expired');
  });

  it('refuses forged, truncated and cross-kind tokens without a 5xx', async () => {
    const pair = await api.login('forger');
    for (const bad of [pair.refreshToken.slice(0, -1), pair.accessToken, 'x'.repeat(5000), '', 'tr1.a.b.c.d']) {
      expect((await api.refresh(bad)).body, bad.slice(0, 20)).toMatchObject({ reason: 'invalid' });
    }
    for (const bad of [pair.accessToken.slice(0, -1), pair.refreshToken, 'ta1.a.b.c.d.e']) {
      expect((await api.me(bad)).status, bad.slice(0, 20)).toBe(401);
    }
    expect((await api.refresh(pair.refreshToken)).status).toBe(200);
  });
});
