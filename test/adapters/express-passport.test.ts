/**
 * The most common login code on express-session, unchanged on tessera/express: real passport
 * 0.7 with passport-local (`req.login` regenerates the session, `req.logout` regenerates it
 * again), through real HTTP. With `userIdFrom`, the sessions passport signs in get tessera's
 * per-user index: listing, "sign out everywhere", session limits.
 */
import express, { type Express } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session, { type ExpressSessionOptions } from '../../src/adapters/express/index.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SECRET, cookieOf, sessionCookie } from './express-helpers.js';

/** The users the app knows (id → name and password). */
const USERS = new Map([
  ['1', { id: '1', username: 'alice', password: 'alice-password' }],
  ['2', { id: '2', username: 'bob', password: 'bob-password' }],
]);

type User = { id: string; username: string };

/** passport's user as the app sees it. */
const userOf = (req: express.Request): User | undefined => req.user as User | undefined;

function passportApp(options: Partial<ExpressSessionOptions> = {}) {
  const events: SessionEvent[] = [];
  const store = new MemoryStore();
  const middleware = session({ secret: SECRET, store, onEvent: (event) => void events.push(event), ...options });
  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy((username, password, done) => {
      const user = [...USERS.values()].find((u) => u.username === username);
      done(null, user !== undefined && user.password === password ? { id: user.id, username: user.username } : false);
    }),
  );
  auth.serializeUser((user, done) => done(null, (user as User).id));
  auth.deserializeUser((id: string, done) => {
    const user = USERS.get(id);
    done(null, user === undefined ? false : { id: user.id, username: user.username });
  });

  const app: Express = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(middleware);
  app.use(auth.session());
  app.get('/visit', (req, res) => {
    const s = req.session as unknown as Record<string, unknown>;
    s['visits'] = ((s['visits'] as number | undefined) ?? 0) + 1;
    res.json({ visits: s['visits'] });
  });
  app.post('/login', auth.authenticate('local', { failureMessage: false }), (req, res) => {
    res.json({ user: userOf(req)?.username ?? null });
  });
  app.get('/me', (req, res) => {
    if (!req.isAuthenticated()) return void res.status(401).json({ user: null });
    res.json({ user: userOf(req)?.username, tesseraUser: req.tessera.userId, sessions: null });
  });
  app.get('/my-sessions', async (req, res) => {
    if (!req.isAuthenticated()) return void res.status(401).json({ user: null });
    res.json({ count: (await req.tessera.listSessions()).length });
  });
  app.post('/logout', (req, res, next) => {
    req.logout((error) => (error ? next(error) : res.json({ user: null })));
  });
  app.post('/logout-everywhere', async (req, res) => {
    const ended = await req.tessera.signOutEverywhere();
    res.json({ ended });
  });
  return { app, middleware, store, events };
}

/** Sign `username` in; gives the session cookie the response set. */
async function logIn(app: Express, username: string, cookie?: string): Promise<string> {
  const password = `${username}-password`;
  const req = request(app).post('/login').type('form').send({ username, password });
  if (cookie !== undefined) void req.set('Cookie', cookie);
  const res = await req.expect(200, { user: username });
  const set = sessionCookie(res);
  expect(set, 'login sets the session cookie').toBeDefined();
  return cookieOf(res);
}

describe('passport 0.7 + passport-local on tessera/express', () => {
  it('signs in, serves a protected page, and keeps the data the session had before the login', async () => {
    const { app } = passportApp();
    await request(app).get('/me').expect(401);
    const visitor = await request(app).get('/visit').expect(200, { visits: 1 });
    const before = cookieOf(visitor);
    const cookie = await logIn(app, 'alice', before);
    await request(app).get('/me').set('Cookie', cookie).expect(200, { user: 'alice', tesseraUser: null, sessions: null });
    // passport 0.7 regenerates on login without keepSessionInfo: the visit count is gone,
    // exactly as on express-session.
    await request(app).get('/visit').set('Cookie', cookie).expect(200, { visits: 1 });
  });

  it('gives the session a new id at login: the cookie from before the login opens nothing (no fixation)', async () => {
    const { app } = passportApp();
    const before = cookieOf(await request(app).get('/visit').expect(200));
    const cookie = await logIn(app, 'alice', before);
    expect(cookie).not.toBe(before);
    await request(app).get('/me').set('Cookie', before).expect(401);
    await request(app).get('/me').set('Cookie', cookie).expect(200);
  });

  it('refuses a wrong password and sets no session', async () => {
    const { app, store } = passportApp();
    const res = await request(app).post('/login').type('form').send({ username: 'alice', password: 'nope' }).expect(401);
    expect(sessionCookie(res)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('req.logout ends the session: the page is closed, and the cookie replayed after logout gives no session', async () => {
    const { app } = passportApp();
    const cookie = await logIn(app, 'alice');
    const out = await request(app).post('/logout').set('Cookie', cookie).expect(200, { user: null });
    // The browser's copy is cleared (passport regenerated into an empty session, which is not
    // stored); an attacker who kept the old one replays it.
    expect(sessionCookie(out)?.value).toBe('');
    await request(app).get('/me').set('Cookie', cookie).expect(401);
    await request(app).get('/my-sessions').set('Cookie', cookie).expect(401);
  });

  it('without userIdFrom, passport sessions have no tessera user (signIn was never called)', async () => {
    const { app } = passportApp();
    const cookie = await logIn(app, 'alice');
    const me = await request(app).get('/me').set('Cookie', cookie).expect(200);
    expect(me.body.tesseraUser).toBeNull();
  });
});

describe('userIdFrom: passport sessions with the per-user index', () => {
  const fromPassport = { userIdFrom: (data: Readonly<Record<string, unknown>>) => (data['passport'] as { user?: string } | undefined)?.user };

  it('records the passport user as the tessera user, and lists the sessions of that user', async () => {
    const { app, events } = passportApp(fromPassport);
    const laptop = await logIn(app, 'alice');
    const phone = await logIn(app, 'alice');
    await logIn(app, 'bob');
    await request(app).get('/me').set('Cookie', laptop).expect(200, { user: 'alice', tesseraUser: '1', sessions: null });
    await request(app).get('/my-sessions').set('Cookie', phone).expect(200, { count: 2 });
    expect(events.filter((e) => e.type === 'authenticated').map((e) => e.userId)).toEqual(['1', '1', '2']);
  });

  it('"sign out everywhere" from one device ends every passport session of that user, and no other', async () => {
    const { app } = passportApp(fromPassport);
    const laptop = await logIn(app, 'alice');
    const phone = await logIn(app, 'alice');
    const bob = await logIn(app, 'bob');
    await request(app).post('/logout-everywhere').set('Cookie', laptop).expect(200, { ended: 2 });
    await request(app).get('/me').set('Cookie', phone).expect(401);
    await request(app).get('/me').set('Cookie', laptop).expect(401);
    await request(app).get('/me').set('Cookie', bob).expect(200);
  });

  it('engine.revokeUser (an administrator) ends the passport sessions of that user', async () => {
    const { app, middleware } = passportApp(fromPassport);
    const laptop = await logIn(app, 'alice');
    const bob = await logIn(app, 'bob');
    expect(await middleware.engine.revokeUser('1')).toBe(1);
    await request(app).get('/me').set('Cookie', laptop).expect(401);
    await request(app).get('/me').set('Cookie', bob).expect(200);
  });

  it('applies maxSessionsPerUser to passport logins: the oldest session goes', async () => {
    const { app } = passportApp({ ...fromPassport, maxSessionsPerUser: 1 });
    const first = await logIn(app, 'alice');
    const second = await logIn(app, 'alice');
    await request(app).get('/me').set('Cookie', first).expect(401);
    await request(app).get('/me').set('Cookie', second).expect(200);
  });

  it('after req.logout the session has no tessera user any more', async () => {
    const { app, middleware } = passportApp(fromPassport);
    const cookie = await logIn(app, 'alice');
    await request(app).post('/logout').set('Cookie', cookie).expect(200);
    expect(await middleware.engine.listUserSessions('1')).toEqual([]);
  });

  it('a user set in a session stored before (login code that does not regenerate) gets a new id and token', async () => {
    const { app } = passportApp(fromPassport);
    // Login code that writes passport's field into an existing session without regenerating.
    app.post('/naive-login', (req, res) => {
      (req.session as unknown as Record<string, unknown>)['passport'] = { user: '2' };
      res.json({ ok: true });
    });
    const before = cookieOf(await request(app).get('/visit').expect(200));
    const after = await request(app).post('/naive-login').set('Cookie', before).expect(200);
    const cookie = cookieOf(after);
    expect(cookie).not.toBe('');
    expect(cookie).not.toBe(before);
    await request(app).get('/me').set('Cookie', before).expect(401);
    await request(app).get('/me').set('Cookie', cookie).expect(200, { user: 'bob', tesseraUser: '2', sessions: null });
    // The data of the session is kept (it was not regenerated by the app).
    await request(app).get('/visit').set('Cookie', cookie).expect(200, { visits: 2 });
  });

  it('refuses userIdFrom that is not a function, at construction', () => {
    expect(() => session({ secret: SECRET, userIdFrom: 'passport.user' as never })).toThrow(/userIdFrom/);
  });
});
