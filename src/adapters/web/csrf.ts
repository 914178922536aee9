/**
 * CSRF protection for the adapters other than Express, framework-free: each adapter reads the
 * request's facts and sets the visitor cookie in its own way.
 *
 * As `tessera/express`'s `csrf()`: a state-changing request is refused with `CROSS_SITE` (403)
 * when `Sec-Fetch-Site` or `Origin` says it comes from another site. When the browser sent
 * neither, it must carry a token (form field `_csrf` or header `X-CSRF-Token`):
 * - with a stored session, the session's synchronizer token (an HMAC of its id);
 * - without one (a visitor, the sign-in form), a stateless double-submit token: an HMAC of a
 *   random value kept in a cookie of its own (`__Host-tessera-csrf` over HTTPS), so rendering
 *   a form for a visitor writes nothing to the store. After sign-in only the session's token
 *   is accepted.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readCookie } from '../../core/cookie-reader.js';
import { csrfToken, originVerdict, verifyCsrfToken, type OriginPolicy } from '../../core/csrf.js';
import { TesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';
import type { RequestTransport } from '../../core/transport.js';

/** Options of the CSRF guard of `tessera/fastify`, `tessera/koa`, `tessera/web` and `tessera/hono`. */
export interface CsrfOptions extends OriginPolicy {
  /** Form field holding the token. @default '_csrf' */
  field?: string;
  /** Header holding the token (case-insensitive). @default 'x-csrf-token' */
  header?: string;
  /**
   * When the browser sent neither `Sec-Fetch-Site` nor `Origin`, require the token. Turn off
   * only for APIs that no browser calls with cookies. @default true
   */
  requireTokenWithoutOrigin?: boolean;
}

/** What the guard needs to know of a request. */
export interface CsrfFacts {
  method: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** `scheme://host` of this request as the browser addressed it. */
  ownOrigin: string;
  /** Whether the browser reached the app over HTTPS. */
  secure: boolean;
  /** The token in the parsed form body, if the adapter has one (it is never parsed here). */
  formField(name: string): unknown;
  /** How the session travels on this request: a header request carries no ambient credential. */
  transport?: RequestTransport | undefined;
}

/** The cookie of a visitor's double-submit value: `__Host-` over HTTPS, plain over HTTP. */
const VISITOR_COOKIE = { secure: '__Host-tessera-csrf', plain: 'tessera-csrf' } as const;
/** What a visitor token's HMAC covers beside the value: never a session id (22 characters). */
const VISITOR_SUBJECT = 'anonymous.';
const VALUE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** One request's CSRF state: its visitor value once issued, so every token of one page agrees. */
export interface CsrfTokens {
  /** The token for a form or a header, for this request's session or visitor. */
  (): string;
}

/** The CSRF guard of one engine. */
export class CsrfGuard {
  readonly #key: () => Buffer;
  readonly #field: string;
  readonly #header: string;
  readonly #requireToken: boolean;
  readonly #policy: OriginPolicy;

  /** @param key the engine's reference key, which the synchronizer tokens are derived from. */
  constructor(key: () => Buffer, options: CsrfOptions = {}) {
    this.#key = key;
    this.#field = options.field ?? '_csrf';
    this.#header = (options.header ?? 'x-csrf-token').toLowerCase();
    this.#requireToken = options.requireTokenWithoutOrigin ?? true;
    this.#policy = { ...(options.trustedOrigins && { trustedOrigins: options.trustedOrigins }), ...(options.allowSameSite !== undefined && { allowSameSite: options.allowSameSite }) };
  }

  /**
   * Whether the request may go on. `session` is read only when a token must be checked.
   * @returns `undefined` to let it through, or the `CROSS_SITE` error to refuse it with.
   */
  check(facts: CsrfFacts, session: () => RequestSession): TesseraError | undefined {
    const verdict = originVerdict(
      { method: facts.method, secFetchSite: facts.header('sec-fetch-site'), origin: facts.header('origin'), ownOrigin: facts.ownOrigin, transport: facts.transport },
      this.#policy,
    );
    if (verdict === 'allow' || (verdict === 'unknown' && !this.#requireToken)) return undefined;
    if (verdict === 'unknown') {
      const submitted = facts.header(this.#header) ?? facts.formField(this.#field);
      const rs = session();
      const subject = rs.isNew ? visitorSubject(facts) : rs.id;
      if (subject !== undefined && verifyCsrfToken(this.#key(), subject, submitted)) return undefined;
    }
    return new TesseraError('CROSS_SITE', 'Cross-site request refused');
  }

  /**
   * The token function of one request. For a visitor without a value yet, the first call
   * makes one and hands `setCookie` the `Set-Cookie` line that keeps it.
   * @throws TesseraError `HEADERS_SENT` (from `setCookie`) when the cookie can no longer be set.
   */
  tokens(facts: Pick<CsrfFacts, 'header' | 'secure'>, session: () => RequestSession, setCookie: (line: string) => void): CsrfTokens {
    let issued: string | undefined;
    return () => {
      const rs = session();
      if (!rs.isNew) return csrfToken(this.#key(), rs.id);
      let value = issued ?? readVisitorValue(facts);
      if (value === undefined) {
        value = randomBytes(32).toString('base64url');
        const name = facts.secure ? VISITOR_COOKIE.secure : VISITOR_COOKIE.plain;
        setCookie(`${name}=${value}; Path=/; HttpOnly; SameSite=Lax${facts.secure ? '; Secure' : ''}`);
        issued = value;
      }
      return csrfToken(this.#key(), VISITOR_SUBJECT + value);
    };
  }
}

function visitorSubject(facts: Pick<CsrfFacts, 'header' | 'secure'>): string | undefined {
  const value = readVisitorValue(facts);
  return value === undefined ? undefined : VISITOR_SUBJECT + value;
}

/** The visitor's double-submit value from its cookie, if it sent exactly one well-formed value. */
function readVisitorValue(facts: Pick<CsrfFacts, 'header' | 'secure'>): string | undefined {
  const found = readCookie(facts.header('cookie'), facts.secure ? VISITOR_COOKIE.secure : VISITOR_COOKIE.plain);
  return found.kind === 'present' && VALUE_PATTERN.test(found.value) ? found.value : undefined;
}
