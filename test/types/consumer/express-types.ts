// How `req` is typed under `tessera/express`, checked against the published declarations:
// `req.session` is express-session's type (with the app's own `SessionData`) plus tessera's
// methods, `req.tessera` is the full request session, and `req.csrfToken()` is always there.
import express from 'express';
import session, { type SessionMiddleware, type TesseraSessionMethods } from 'tessera/express';
import type { SessionData } from 'express-session';

declare module 'express-session' {
  interface SessionData {
    cart: string[];
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(ok: T): T {
  return ok;
}

const middleware: SessionMiddleware = session({ secret: 'a-strong-secret-of-at-least-32-bytes!' });
const app = express();
app.use(middleware);
app.use(middleware.csrf());

app.post('/cart', async (req, res) => {
  // The app's SessionData, as @types/express-session types it (every field may be missing).
  expectType<Equal<typeof req.session.cart, string[] | undefined>>(true);
  req.session.cart = [...(req.session.cart ?? []), 'book'];
  // @ts-expect-error SessionData says cart is a string[]
  req.session.cart = 42;
  const data: Partial<SessionData> = req.session;
  // express-session's own members are still there.
  expectType<Equal<typeof req.session.id, string>>(true);
  expectType<Equal<typeof req.sessionID, string>>(true);
  req.session.cookie.maxAge = 60_000;
  req.session.touch().resetMaxAge();
  req.session.regenerate((error: unknown) => void error);
  req.session.save((error: unknown) => void error);
  // Without a callback the methods return promises.
  expectType<Equal<ReturnType<typeof req.session.save>, Promise<void>>>(true);
  await req.session.save();
  await req.session.reload();
  await req.session.regenerate();
  await req.session.destroy();

  // tessera's methods on req.session.
  expectType<Equal<Parameters<typeof req.session.signIn>, [userId: string, options?: { keepData?: boolean | readonly string[] }]>>(true);
  await req.session.signIn('ada', { keepData: true });
  await req.session.signIn('ada', { keepData: ['cart'] });
  const others: number = await req.session.signOutOthers();
  const everywhere: number = await req.session.signOutEverywhere();
  const revoked: boolean = await req.session.revokeSession('an-id');
  const listed: string[] = (await req.session.listSessions()).map((s) => s.id);
  req.session.requireFresh(5 * 60_000);
  await req.session.signOut();
  const methods: TesseraSessionMethods = req.session;
  // @ts-expect-error signIn needs a user id
  await req.session.signIn();

  // req.tessera and req.csrfToken.
  const userId: string | null = req.tessera.userId;
  expectType<Equal<typeof req.csrfToken, () => string>>(true);
  const token: string = req.csrfToken();
  res.json({ data, others, everywhere, revoked, listed, methods: typeof methods, userId, token });
});

export { app };
