/**
 * Putting a session's headers on a Fetch API `Response`, and reading a `Request` the way the
 * engine needs it.
 * @module
 */
import type { RequestInfo } from '../../core/engine.js';
import type { ResponseHeaders } from '../../core/headers.js';
import { isLocalhostHeader } from '../../core/request.js';

/** How a Web request is read. */
export interface WebRequestOptions {
  /**
   * Trust the `X-Forwarded-Proto` and `X-Forwarded-For` headers of a proxy in front of the
   * app (only behind one that sets them: a client can send them too). @default false
   */
  trustProxy?: boolean;
}

/** What the caller knows of a request beyond the `Request` object (a `Request` has no client address). */
export interface RequestContext {
  /** The client's IP address, for the session's device record and anomaly checks. */
  ip?: string | undefined;
  /** Whether the request came over HTTPS, when the caller knows better than the URL. */
  secure?: boolean | undefined;
}

/**
 * The engine's view of a Web request.
 * @param tokenHeader the engine's `tokenHeader` (lower-case), whose value carries the session
 * for the header transport; left out (the cookie transport), the header is not read. `Headers`
 * joins repeated lines with ", ", which the engine refuses as malformed: a duplicated header
 * gives no session.
 */
export function requestInfoOf(request: Request, options: WebRequestOptions, context: RequestContext = {}, tokenHeader?: string): RequestInfo {
  const headers = request.headers;
  const url = urlParts(request.url);
  const trust = options.trustProxy === true;
  const forwardedProto = trust ? firstValue(headers.get('x-forwarded-proto'))?.toLowerCase() : undefined;
  const forwardedFor = trust ? firstValue(headers.get('x-forwarded-for')) : undefined;
  return {
    cookie: headers.get('cookie') ?? undefined,
    tokenHeader: tokenHeader === undefined ? undefined : (headers.get(tokenHeader) ?? undefined),
    secure: context.secure ?? (forwardedProto !== undefined ? forwardedProto === 'https' : url.https),
    ip: context.ip ?? forwardedFor,
    userAgent: headers.get('user-agent') ?? undefined,
    method: request.method,
    path: url.path,
    localhost: isLocalhostHeader(headers.get('host') ?? url.host),
  };
}

/**
 * The scheme, host and path of a `Request`'s URL, which is always absolute and already
 * serialized (WHATWG URL): read off the string, since parsing a `URL` on every request costs
 * more than the rest of the request's reading.
 */
export function urlParts(url: string): { https: boolean; host: string; path: string } {
  const hostAt = url.indexOf('://') + 3;
  if (hostAt < 3) return { https: false, host: '', path: '/' };
  const pathAt = url.indexOf('/', hostAt);
  const end = pathAt === -1 ? -1 : url.slice(pathAt).search(/[?#]/);
  return {
    https: url.startsWith('https:'),
    host: url.slice(hostAt, pathAt === -1 ? undefined : pathAt),
    path: pathAt === -1 ? '/' : url.slice(pathAt, end === -1 ? undefined : pathAt + end),
  };
}

function firstValue(header: string | null): string | undefined {
  const first = header?.split(',')[0]?.trim();
  return first === '' ? undefined : first;
}

/**
 * Add a session's headers to a `Headers`: every `Set-Cookie` is appended (the app's own cookies
 * stay), any other header replaces the app's (`Cache-Control: no-store` wins over a cacheable
 * response: a response carrying a session cookie must not be cached).
 */
export function applyHeaders(target: Headers, headers: ResponseHeaders): void {
  for (const [name, value] of headers) {
    if (name.toLowerCase() === 'set-cookie') target.append(name, value);
    else target.set(name, value);
  }
}

/**
 * A response with the session's headers. The same object when its headers can be changed; a
 * copy (same status, headers and body stream) when they cannot (`Response.redirect()`, a
 * `fetch()` response).
 */
export function withHeaders(response: Response, headers: ResponseHeaders): Response {
  if (headers.length === 0) return response;
  try {
    applyHeaders(response.headers, headers);
    return response;
  } catch {
    const copy = new Response(response.body, { status: response.status, statusText: response.statusText, headers: response.headers });
    applyHeaders(copy.headers, headers);
    return copy;
  }
}
