/**
 * CSRF protection for Express: `app.use(sessions.csrf())` after the session middleware.
 *
 * State-changing requests (POST, PUT, PATCH, DELETE, ...) are refused with `CROSS_SITE` (403)
 * when `Sec-Fetch-Site` or `Origin` shows they come from another site. When the browser sent
 * neither, the request must carry a token, in the form field `_csrf` or the `X-CSRF-Token`
 * header; `req.csrfToken()` gives it to templates:
 * - with a stored session, the session's synchronizer token (an HMAC of its id);
 * - without one (a visitor, the sign-in form), a stateless double-submit token: an HMAC of a
 *   random value kept in a cookie of its own (`__Host-tessera-csrf` over HTTPS, so no sibling
 *   host can plant it). Rendering a form for a visitor writes nothing to the store. After
 *   sign-in, only the session's token is accepted.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readCookie } from '../../core/cookie-reader.js';
import { csrfToken, isSafeMethod, originVerdict, verifyCsrfToken, type OriginPolicy } from '../../core/csrf.js';
import { TesseraError } from '../../core/errors.js';
import type { RequestSession } from '../../core/request-session.js';

/** Options of the CSRF middleware. */
export interface CsrfOptions extends OriginPolicy {
  /** Form field holding the token. @default '_csrf' */
  field?: string;
  /** Header holding the token (lower case). @default 'x-csrf-token' */
  header?: string;
  /**
   * When the browser sent neither `Sec-Fetch-Site` nor `Origin`, require the token. Turn off
   * only for APIs that no browser calls with cookies. @default true
   */
  requireTokenWithoutOrigin?: boolean;
}

interface CsrfRequest extends IncomingMessage {
  tessera?: RequestSession;
  body?: unknown;
  protocol?: string;
  host?: string;
  secure?: boolean;
  csrfToken?: () => string;
}

/** The cookie of a visitor's double-submit value: `__Host-` over HTTPS, plain over HTTP. */
const ANON_COOKIE = { secure: '__Host-tessera-csrf', plain: 'tessera-csrf' } as const;
/** What an anonymous token's HMAC covers, beside the value: never a session id (22 characters). */
const ANON_SUBJECT = 'anonymous.';
const VALUE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** The visitor value this request set, so that every `csrfToken()` of one page agrees. */
const ISSUED = Symbol('tessera.csrf.issued');

/**
 * Build the CSRF middleware for one engine's sessions.
 * @param keyOf the request's engine's reference key, which the synchronizer tokens are derived from.
 */
export function createCsrf(keyOf: (req: IncomingMessage) => Buffer, options: CsrfOptions = {}) {
  const field = options.field ?? '_csrf';
  const header = (options.header ?? 'x-csrf-token').toLowerCase();
  const requireToken = options.requireTokenWithoutOrigin ?? true;

  return function csrf(incoming: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    const req = incoming as CsrfRequest;
    if (!('tessera' in req)) {
      next(new TesseraError('INVALID_OPTION', 'csrf(): mount it after the session middleware'));
      return;
    }
    const key = keyOf(req);
    // `req.tessera` is read only when needed, so safe requests that never render a form make
    // no session objects.
    req.csrfToken = () => {
      const rs = req.tessera!;
      if (!rs.isNew) return csrfToken(key, rs.id);
      return csrfToken(key, ANON_SUBJECT + visitorValue(req, res));
    };
    const verdict = originVerdict(
      {
        method: req.method ?? 'GET',
        // A session token from a header is no ambient credential: nothing to forge.
        transport: isSafeMethod(req.method ?? 'GET') ? undefined : req.tessera!.transport,
        secFetchSite: single(req.headers['sec-fetch-site']),
        origin: single(req.headers.origin),
        ownOrigin: ownOrigin(req),
      },
      options,
    );
    if (verdict === 'allow' || (verdict === 'unknown' && !requireToken)) {
      next();
      return;
    }
    if (verdict === 'unknown') {
      const submitted = single(req.headers[header]) ?? formField(req.body, field);
      const rs = req.tessera!;
      const visitor = rs.isNew ? readVisitorValue(req) : undefined;
      const subject = rs.isNew ? (visitor === undefined ? undefined : ANON_SUBJECT + visitor) : rs.id;
      if (subject !== undefined && verifyCsrfToken(key, subject, submitted)) {
        next();
        return;
      }
    }
    next(new TesseraError('CROSS_SITE', 'Cross-site request refused'));
  };
}

/** Whether the request came over HTTPS as the browser sees it (Express's `req.secure` honours `trust proxy`). */
function isSecure(req: CsrfRequest): boolean {
  return req.secure ?? (req.socket as TLSSocket | undefined)?.encrypted === true;
}

/** The visitor's double-submit value from its cookie, if it has a well-formed one (exactly one). */
function readVisitorValue(req: CsrfRequest): string | undefined {
  const found = readCookie(req.headers.cookie, isSecure(req) ? ANON_COOKIE.secure : ANON_COOKIE.plain);
  return found.kind === 'present' && VALUE_PATTERN.test(found.value) ? found.value : undefined;
}

/** The visitor's value: the one its cookie holds, or a new one set in a cookie on this response. */
function visitorValue(req: CsrfRequest, res: ServerResponse): string {
  const holder = req as CsrfRequest & { [ISSUED]?: string };
  const known = holder[ISSUED] ?? readVisitorValue(req);
  if (known !== undefined) return known;
  if (res.headersSent) {
    throw new TesseraError('HEADERS_SENT', 'csrfToken(): call it before the response headers are sent, so its cookie can be set');
  }
  const value = randomBytes(32).toString('base64url');
  const secure = isSecure(req);
  const cookie = `${secure ? ANON_COOKIE.secure : ANON_COOKIE.plain}=${value}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  const existing = res.getHeader('Set-Cookie');
  res.setHeader('Set-Cookie', existing === undefined ? [cookie] : [...(Array.isArray(existing) ? existing : [String(existing)]), cookie]);
  // A page holding a token for this visitor is theirs alone.
  res.setHeader('Cache-Control', 'no-store');
  holder[ISSUED] = value;
  return value;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function formField(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/** `scheme://host` of this request as the browser addressed it (Express's `req.protocol`/`req.host` honour `trust proxy`). */
function ownOrigin(req: CsrfRequest): string {
  const scheme = req.protocol ?? ((req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http');
  return `${scheme}://${req.host ?? req.headers.host ?? ''}`;
}
