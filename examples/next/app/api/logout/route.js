import { sessions } from '../../../lib/sessions.js';

export const dynamic = 'force-dynamic';

/** Sign out: the session is deleted, the cookie cleared, and Clear-Site-Data sent. */
export const POST = sessions.route(async (_request, session) => {
  await session.signOut();
  return Response.json({ user: null });
});
