/**
 * The headers a response carries for its session: `Set-Cookie` when the cookie must change
 * (with `Cache-Control: no-store`, so no cache keeps a session identifier), clearing cookies,
 * `Clear-Site-Data` after a sign-out, and the end-reason cookie when the session ended
 * (`./ended.js`).
 * @module
 */
import { cookieMaxAge, worthStoring } from './commit.js';
import type { SessionContext } from './context.js';
import { serializeClearCookie, serializeCookie, serializeDuplicateClears } from './cookie.js';
import { serializeEndReason, type EndReason } from './ended.js';
import type { SessionHandle } from './handle.js';
import { cookieDeliverable, cookieOptionsOf, type RequestInfo } from './request.js';
import type { RequestState } from './request-state.js';
import { headerValueOf, transportOf } from './transport.js';

/** Headers a response must carry, as `[name, value]` pairs. */
export type ResponseHeaders = Array<[name: string, value: string]>;

/**
 * The headers for this response.
 * @param beforeSave the headers leave before the save runs (a streamed response): a session
 * that is not stored yet is announced now if the save will create it; otherwise the save must
 * not create it, since no cookie could lead to it.
 * @param ended why the session this request came with ended, if it did: told to the next page
 * in the end-reason cookie (on the first call only).
 */
export function responseHeaders(
  ctx: SessionContext,
  request: RequestInfo,
  state: RequestState,
  data: SessionHandle,
  beforeSave: boolean,
  ended: EndReason | null = null,
): ResponseHeaders {
  const options = ctx.options;
  const headers: ResponseHeaders = [];
  let announce = false;
  const unsent = state.headers === 'open' || state.headers === 'ending';
  if (beforeSave && unsent) {
    announce = !state.stored && worthStoring(ctx, request, state, data);
    state.headers = state.stored || announce ? 'sent' : 'sent-without-cookie';
  } else if (unsent) {
    state.headers = 'sent';
  }
  const willExist = state.stored || announce;
  if (transportOf(options, request) === 'header') {
    headerTransport(ctx, state, willExist, announce, headers);
  } else {
    cookieTransport(ctx, request, state, willExist, announce, unsent, ended, headers);
  }
  // OWASP: a response that carries a session identifier must not be cached.
  if (headers.length > 0) headers.push(['Cache-Control', 'no-store']);
  if (state.clearSiteData && options.clearSiteData !== false) headers.push(['Clear-Site-Data', options.clearSiteData]);
  return headers;
}

/**
 * A header client's token, in `responseTokenHeader`: the new one, or an empty value when the
 * token it brought leads nowhere now (signed out, expired, revoked). No cookie of any kind.
 */
function headerTransport(ctx: SessionContext, state: RequestState, willExist: boolean, announce: boolean, headers: ResponseHeaders): void {
  const name = ctx.options.responseTokenHeader;
  if ((state.cookie === 'set' || announce) && willExist && state.identity !== null) {
    headers.push([name, headerValueOf(ctx.keyRing.sign(state.identity))]);
  } else if (state.cookie === 'clear' && !willExist) {
    headers.push([name, '']);
  }
}

function cookieTransport(
  ctx: SessionContext,
  request: RequestInfo,
  state: RequestState,
  willExist: boolean,
  announce: boolean,
  unsent: boolean,
  ended: EndReason | null,
  headers: ResponseHeaders,
): void {
  const options = ctx.options;
  const cookie = cookieOptionsOf(options.cookie, request);
  const secure = cookie.secure === 'auto' ? request.secure : cookie.secure;
  // A Secure cookie on plain HTTP would be dropped by the browser: send none (as express-session).
  if (cookieDeliverable(cookie, request)) {
    if ((state.cookie === 'set' || announce) && willExist && state.identity !== null) {
      const value = ctx.keyRing.sign(state.identity);
      headers.push(['Set-Cookie', serializeCookie(cookie, value, secure, cookieMaxAge(ctx, request, state), options.now())]);
    } else if (state.cookie === 'clear' && !willExist) {
      headers.push(['Set-Cookie', serializeClearCookie(cookie, secure)]);
    }
    if (state.tossed) {
      for (const line of serializeDuplicateClears(cookie, secure, request.path)) headers.push(['Set-Cookie', line]);
    }
    if (ended !== null && unsent) headers.push(['Set-Cookie', serializeEndReason(ended, secure)]);
  }
}
