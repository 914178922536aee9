/**
 * The session status endpoint, framework-free: what a page's script (`tessera/browser`) asks to
 * warn before the idle deadline and to learn that the session ended elsewhere. Adapters route
 * two requests to it:
 *
 * - a **status** request reads the session and never writes it: it does not count as activity,
 *   so polling it never keeps a session alive (the adapter must not save the session after it;
 *   see {@link statusResponse});
 * - a **keep-alive** request is activity: the session is saved, which extends the idle deadline
 *   at most once per `touchInterval` (the same throttle as any request), and then reported.
 *
 * The answer is JSON with `Cache-Control: no-store`, and never carries the token (the cookie, if
 * it must change, goes in `Set-Cookie` as on any response).
 * @module
 */
import { readEndReason, type EndReason } from './ended.js';
import type { ResponseHeaders } from './headers.js';
import type { RequestInfo } from './request.js';
import type { RequestSession } from './request-session.js';

/** What a status request answers (the JSON body). Times are ms since epoch on the server's clock. */
export interface SessionStatus {
  /** Whether a user is signed in to this session. */
  signedIn: boolean;
  /** The server's clock when it answered, so a client can correct for its own clock's difference. */
  now: number;
  /** When the session expires unless used before (ms since epoch); `null` when not signed in. */
  idleExpiresAt: number | null;
  /** When the session expires however active (ms since epoch); `null` when not signed in. */
  absoluteExpiresAt: number | null;
  /**
   * Why the session ended, when it did and that is known: found by this request, or told by a
   * recent end-reason cookie (5 min). `null` while signed in.
   */
  endReason: EndReason | null;
}

/** A complete status answer, for an adapter to send as it is. */
export interface StatusResponse {
  /** Always 200: a signed-out session is an answer, not an error. */
  status: 200;
  /** `Content-Type`, `Cache-Control: no-store`, and the session's own headers (`Set-Cookie`). */
  headers: ResponseHeaders;
  /** The {@link SessionStatus} as JSON. */
  body: string;
  /** The same, as an object. */
  json: SessionStatus;
}

/**
 * The status of a loaded session.
 * @param request the request, whose end-reason cookie tells why an earlier session ended.
 * @param now the server's clock (ms since epoch).
 */
export function sessionStatus(rs: RequestSession, request: Pick<RequestInfo, 'cookie'>, now: number): SessionStatus {
  const signedIn = !rs.isNew && rs.userId !== null;
  return {
    signedIn,
    now,
    idleExpiresAt: signedIn ? rs.idleExpiresAt : null,
    absoluteExpiresAt: signedIn ? rs.absoluteExpiresAt : null,
    endReason: signedIn ? null : (rs.endReason ?? readEndReason(request.cookie)),
  };
}

/**
 * The whole answer to a status or keep-alive request: status, headers (with the session's own,
 * from `rs.responseHeaders()`) and JSON body. Call it once, after the session was saved for a
 * keep-alive request, and without saving it for a status request.
 */
export function statusResponse(rs: RequestSession, request: Pick<RequestInfo, 'cookie'>, now: number): StatusResponse {
  const json = sessionStatus(rs, request, now);
  const headers: ResponseHeaders = rs.responseHeaders().filter(([name]) => name.toLowerCase() !== 'cache-control');
  headers.push(['Content-Type', 'application/json; charset=utf-8'], ['Cache-Control', 'no-store']);
  return { status: 200, headers, body: JSON.stringify(json), json };
}
