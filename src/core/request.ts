/**
 * What the core knows about a request: the facts an adapter reads off its framework's request.
 * @module
 */
import type { SessionMeta } from '../store/types.js';

/** What the engine needs to know about a request. Adapters fill it in. */
export interface RequestInfo {
  /** The raw `Cookie` header(s). */
  cookie: string | readonly string[] | undefined;
  /** Whether the request came over HTTPS (as decided by the adapter and its proxy settings). */
  secure: boolean;
  /** Client IP address. */
  ip?: string | undefined;
  /** `User-Agent` header. */
  userAgent?: string | undefined;
  /** HTTP method. */
  method?: string | undefined;
  /** URL path without the query string. */
  path?: string | undefined;
}

/** The longest user agent kept with a session, in characters. */
const MAX_USER_AGENT = 256;
/** The longest IP address kept with a session, in characters. */
const MAX_IP = 64;

/** Device metadata of a request, bounded in size. */
export function metaOf(request: RequestInfo): SessionMeta {
  const meta: SessionMeta = {};
  if (typeof request.userAgent === 'string') meta.userAgent = request.userAgent.slice(0, MAX_USER_AGENT);
  if (typeof request.ip === 'string') meta.ip = request.ip.slice(0, MAX_IP);
  return meta;
}
