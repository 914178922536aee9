import { sessions } from '../../../lib/sessions.js';

export const dynamic = 'force-dynamic';

/** Who is signed in, and how often this session called. */
export const GET = sessions.route(async (_request, session) => {
  if (session.userId !== null) session.data.update('calls', (n) => (n ?? 0) + 1);
  return Response.json({ user: session.userId, calls: session.data.get('calls') ?? 0 });
});
