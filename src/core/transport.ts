/**
 * Where a request's session token travels: in the session cookie, or in a request header for
 * API, mobile and desktop clients (`Authorization: Bearer <value>` or a header the app names),
 * and never in a URL (a URL ends up in logs, history and `Referer` headers).
 *
 * The rule for a request that carries both (transport `'both'`): **the header wins** and the
 * cookie is ignored, neither read, nor cleared, nor set. A browser never adds an
 * `Authorization` or custom header to a cross-site request on its own (it needs a CORS
 * preflight the app must allow), so a request that shows the header was sent by code that
 * holds the token, and a cookie planted by a sibling host cannot change which session it gets.
 *
 * A header request has no ambient credential, so it needs no CSRF guard: the session tells
 * the guard (`RequestSession.transport`).
 * @module
 */
import { readCookie, type CookieLookup } from './cookie-reader.js';
import type { RequestInfo } from './request.js';

/** Where a route reads session tokens from: the cookie, a header, or either (the header wins). */
export type Transport = 'cookie' | 'header' | 'both';

/** Where one request's session token travels, once `'both'` is decided. */
export type RequestTransport = 'cookie' | 'header';

/** The default request header: `Authorization`, with the `Bearer` scheme (RFC 6750 §2.1). */
export const DEFAULT_TOKEN_HEADER = 'authorization';

/** The default response header that carries a new or rotated token to a header client. */
export const DEFAULT_RESPONSE_TOKEN_HEADER = 'Tessera-Session';

/** A token header longer than this (characters) is refused unread; a token is about 130. */
export const MAX_TOKEN_HEADER_LENGTH = 1024;

/** RFC 9110 §5.6.2 `token`: the characters of a header name. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** The value a header client holds: `<sid>.<token>.<keyId>.<signature>` (RFC 6750 `b64token` characters). */
const VALUE = /^[A-Za-z0-9._~+/-]+=*$/;
/** What the session cookie value starts with and the header value leaves out. */
const COOKIE_PREFIX = 's:';

/** The transport settings of an engine. */
export interface TransportSettings {
  transport: Transport;
  tokenHeader: string;
  responseTokenHeader: string;
}

/** What {@link transportOf} reads of a request. */
export interface TransportFacts {
  /** Every value of the configured token header, one per occurrence. */
  tokenHeader?: string | readonly string[] | undefined;
  /** This route's transport, overriding the engine's. */
  transport?: Transport | undefined;
}

/**
 * The token header an adapter reads for the engine: its name (lower-case, as resolved), or
 * `undefined` under the cookie transport, where no request's header is ever read (no scan on
 * the hot path).
 */
export function tokenHeaderToRead(settings: TransportSettings): string | undefined {
  return settings.transport === 'cookie' ? undefined : settings.tokenHeader;
}

/** Whether `name` can be a header name. */
export function isHeaderName(name: unknown): name is string {
  return typeof name === 'string' && HEADER_NAME.test(name);
}

/** How a request's session token travels: `'both'` becomes `'header'` when the token header is there. */
export function transportOf(settings: TransportSettings, request: TransportFacts): RequestTransport {
  const transport = request.transport ?? settings.transport;
  if (transport !== 'both') return transport === 'header' ? 'header' : 'cookie';
  return readTokenHeader(request.tokenHeader, settings.tokenHeader).kind === 'absent' ? 'cookie' : 'header';
}

/**
 * Find the session token in the values of the token header, defensively; never throws.
 * With `authorization`, only the `Bearer` scheme counts (another scheme, `Basic` say, is not
 * ours: absent); any other header holds the value alone. More than one occurrence is
 * `duplicate`, more than `maxLength` characters ({@link MAX_TOKEN_HEADER_LENGTH} unless given) `oversized`, and anything
 * but one `b64token` (RFC 6750 §2.1) `malformed`. The value found is the cookie value the key
 * ring verifies (`s:` put back in front).
 */
export function readTokenHeader(values: string | readonly string[] | undefined, name: string, maxLength = MAX_TOKEN_HEADER_LENGTH): CookieLookup {
  if (values === undefined) return { kind: 'absent' };
  const list: readonly unknown[] = typeof values === 'string' ? [values] : Array.isArray(values) ? values : [];
  const bearer = name.toLowerCase() === DEFAULT_TOKEN_HEADER;
  const ours = bearer ? list.filter((value) => typeof value === 'string' && /^bearer(?:[ \t]|$)/i.test(value.trimStart())) : list;
  if (ours.length === 0) return { kind: 'absent' };
  if (list.length > 1) return { kind: 'invalid', reason: 'duplicate' };
  const raw = ours[0];
  if (typeof raw !== 'string') return { kind: 'invalid', reason: 'malformed' };
  if (raw.length > maxLength) return { kind: 'invalid', reason: 'oversized' };
  const value = trimOws(bearer ? trimOws(raw).slice('bearer'.length) : raw);
  if (!VALUE.test(value)) return { kind: 'invalid', reason: 'malformed' };
  return { kind: 'present', value: COOKIE_PREFIX + value };
}

/**
 * The session token a request presents, where its transport says to look: the cookie named
 * `cookieName`, or the token header. Never throws.
 */
export function readSessionToken(settings: TransportSettings, cookieName: string, request: RequestInfo): CookieLookup {
  return transportOf(settings, request) === 'header' ? readTokenHeader(request.tokenHeader, settings.tokenHeader) : readCookie(request.cookie, cookieName);
}

/** The value a header client is given for a signed cookie value: the same, without `s:`. */
export function headerValueOf(cookieValue: string): string {
  return cookieValue.startsWith(COOKIE_PREFIX) ? cookieValue.slice(COOKIE_PREFIX.length) : cookieValue;
}

/** Without leading and trailing SP and HTAB (RFC 9110 §5.6.3 OWS). */
function trimOws(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++;
  while (b > a && (text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--;
  return text.slice(a, b);
}
