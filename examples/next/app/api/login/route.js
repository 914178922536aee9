import { sessions } from '../../../lib/sessions.js';

export const dynamic = 'force-dynamic';

/** Sign in (a real app checks a password first): a new session, a new token. */
export const POST = sessions.route(async (request, session) => {
  const user = new URL(request.url).searchParams.get('user') ?? 'ada';
  await session.signIn(user);
  return Response.json({ user });
});
