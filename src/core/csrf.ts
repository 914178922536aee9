/**
 * Cross-site request forgery defences, framework-free.
 *
 * 1. A request whose session token came in a header (`transport`) carries no ambient
 *    credential: a browser adds no `Authorization` or custom header to a cross-site request on
 *    its own, so nothing can be forged with it, and it is allowed.
 * 2. Fetch metadata and origin: a state-changing request is refused when the browser says it
 *    came from another site (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not ours).
 *    Every current browser sends one of the two (OWASP CSRF Cheat Sheet, "Fetch Metadata").
 * 3. Where neither header is present (old browsers, some proxies), a synchronizer token bound
 *    to the session: `HMAC(key, "csrf" + session id)`, compared in constant time. It changes
 *    whenever the session token changes (sign-in, regeneration), so it cannot be fixed in advance.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestTransport } from './transport.js';

/** Methods that must not change state (RFC 9110 §9.2.1), so they are never checked. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Whether a method is one the origin check always allows (RFC 9110 §9.2.1). */
export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/** What the origin check needs from a request. */
export interface OriginFacts {
  /** HTTP method. */
  method: string;
  /** The `Sec-Fetch-Site` header, if any. */
  secFetchSite: string | undefined;
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** This server's own origin for the request, e.g. `https://app.example` (scheme + host). */
  ownOrigin: string;
  /** How the request's session token travelled (`RequestSession.transport`); `'header'` is always allowed. @default 'cookie' */
  transport?: RequestTransport | undefined;
}

/** Options of {@link originVerdict}. */
export interface OriginPolicy {
  /** Other origins allowed to send state-changing requests (exact `scheme://host[:port]`). @default [] */
  trustedOrigins?: readonly string[];
  /** Also accept `Sec-Fetch-Site: same-site` (sibling subdomains). @default false */
  allowSameSite?: boolean;
}

/**
 * - `allow`: a safe method, a header-transport request, or the browser says the request is same-origin (or user-initiated);
 * - `reject`: the browser says it came from another site or origin;
 * - `unknown`: neither header is there; fall back to the synchronizer token.
 */
export type OriginVerdict = 'allow' | 'reject' | 'unknown';

/** Decide from `Sec-Fetch-Site` and `Origin` whether a request may change state. */
export function originVerdict(facts: OriginFacts, policy: OriginPolicy = {}): OriginVerdict {
  if (isSafeMethod(facts.method)) return 'allow';
  if (facts.transport === 'header') return 'allow';
  const trusted = facts.origin !== undefined && (policy.trustedOrigins ?? []).includes(facts.origin);
  switch (facts.secFetchSite?.toLowerCase()) {
    case 'same-origin':
    case 'none':
      return 'allow';
    case 'same-site':
      return policy.allowSameSite === true || trusted ? 'allow' : 'reject';
    case 'cross-site':
      return trusted ? 'allow' : 'reject';
    default:
      break;
  }
  if (facts.origin === undefined) return 'unknown';
  // `Origin: null` comes from sandboxed frames, file: pages and some redirects: never ours.
  return facts.origin === facts.ownOrigin || trusted ? 'allow' : 'reject';
}

/** The synchronizer token of a session, for a hidden form field or a header. */
export function csrfToken(referenceKey: Buffer, sessionId: string): string {
  return createHmac('sha256', referenceKey).update('tessera/csrf\0').update(sessionId).digest('base64url');
}

/** Whether a submitted token is the session's, in constant time. Never throws. */
export function verifyCsrfToken(referenceKey: Buffer, sessionId: string, submitted: unknown): boolean {
  if (typeof submitted !== 'string' || submitted.length !== 43) return false;
  const expected = Buffer.from(csrfToken(referenceKey, sessionId));
  const given = Buffer.from(submitted);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
