import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { MINUTE, T0, frozenClock } from '../helpers/clock.js';
import { cookieHeader, theSetCookie, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, SECRET, buildApp, type WhoAmI } from '../helpers/express-app.js';

describe('requireFresh (step-up)', () => {
  function app() {
    const clock = frozenClock();
    const a = express();
    a.use(session({ secret: SECRET, store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now, rotateEvery: Infinity }));
    a.post('/signin', async (req, res) => {
      await req.tessera.signIn('alice');
      res.send('ok');
    });
    a.post('/change-email', session.requireFresh({ maxAge: 5 * MINUTE }), (_req, res) => {
      res.send('changed');
    });
    a.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(isTesseraError(error) ? error.status : 500).send(isTesseraError(error) ? error.code : 'error');
    });
    return { app: a, clock };
  }

  it('lets a recent sign-in through and blocks a stale one with 403 NOT_FRESH', async () => {
    const { app: a, clock } = app();
    const cookie = theSetCookie(await request(a).post('/signin').expect(200), DEFAULT_NAME);
    clock.set(T0 + 5 * MINUTE);
    await request(a).post('/change-email').set('Cookie', cookieHeader(cookie)).expect(200, 'changed');
    clock.set(T0 + 5 * MINUTE + 1);
    await request(a).post('/change-email').set('Cookie', cookieHeader(cookie)).expect(403, 'NOT_FRESH');
  });

  it('answers 401 NOT_AUTHENTICATED without a signed-in user', async () => {
    await request(app().app).post('/change-email').expect(401, 'NOT_AUTHENTICATED');
  });

  it('passes again after re-authentication, which also replaces the token', async () => {
    const { app: a, clock } = app();
    const first = theSetCookie(await request(a).post('/signin').expect(200), DEFAULT_NAME);
    clock.set(T0 + 60 * MINUTE);
    const again = theSetCookie(await request(a).post('/signin').set('Cookie', cookieHeader(first)).expect(200), DEFAULT_NAME);
    expect(again.value).not.toBe(first.value);
    await request(a).post('/change-email').set('Cookie', cookieHeader(again)).expect(200, 'changed');
  });
});

describe('concurrent-session limit', () => {
  async function signIns(t: ReturnType<typeof buildApp>, n: number): Promise<SetCookie[]> {
    const cookies: SetCookie[] = [];
    for (let i = 0; i < n; i++) {
      cookies.push(theSetCookie(await request(t.app).post('/signin/alice').expect(200), DEFAULT_NAME));
    }
    return cookies;
  }

  const whoami = async (t: ReturnType<typeof buildApp>, cookie: SetCookie) =>
    (await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200)).body as WhoAmI;

  it('evicts the oldest session at the 4th sign-in with a limit of 3', async () => {
    const clock = frozenClock();
    const t = buildApp({ store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }), now: clock.now, maxSessionsPerUser: 3 });
    const cookies: SetCookie[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(1_000);
      cookies.push(...(await signIns(t, 1)));
    }
    expect((await whoami(t, cookies[0]!)).userId).toBeNull();
    for (const cookie of cookies.slice(1)) expect((await whoami(t, cookie)).userId).toBe('alice');
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'session_limit' }));
  });

  it("refuses the 4th sign-in with 403 SESSION_LIMIT under the 'reject' policy", async () => {
    const clock = frozenClock();
    const t = buildApp({
      store: new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }),
      now: clock.now,
      maxSessionsPerUser: 3,
      sessionLimitPolicy: 'reject',
    });
    t.app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(isTesseraError(error) ? error.status : 500).send(isTesseraError(error) ? error.code : 'error');
    });
    const cookies = await signIns(t, 3);
    await request(t.app).post('/signin/alice').expect(403, 'SESSION_LIMIT');
    for (const cookie of cookies) expect((await whoami(t, cookie)).userId).toBe('alice');
  });
});
