import { NextResponse } from 'next/server';
import { sessions } from './lib/sessions.js';

/**
 * Middleware on the Node.js runtime (stable in Next.js 15.5): it sees the session as a route
 * handler does. Here it only tells the page who is signed in; it could redirect visitors away
 * from private pages. The Edge runtime, the default for middleware, cannot run tessera.
 */
export const middleware = sessions.route(async (_request, session) => {
  const response = NextResponse.next();
  response.headers.set('x-session-user', session.userId ?? '-');
  return response;
});

export const config = { runtime: 'nodejs', matcher: ['/api/me'] };
