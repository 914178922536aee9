/**
 * CSRF protection for Express: `app.use(sessions.csrf())` after the session middleware.
 *
 * State-changing requests (POST, PUT, PATCH, DELETE, ...) are refused with `CROSS_SITE` (403)
 * when `Sec-Fetch-Site` or `Origin` shows they come from another site. When the browser sent
 * neither, the request must carry the session's synchronizer token, in the form field `_csrf`
 * or the `X-CSRF-Token` header; `req.csrfToken()` gives it to templates.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { csrfToken, originVerdict, verifyCsrfToken, type OriginPolicy } from '../../core/csrf.js';
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
  csrfToken?: () => string;
}

/**
 * Build the CSRF middleware for one engine's sessions.
 * @param keyOf the request's engine's reference key, which the synchronizer tokens are derived from.
 */
export function createCsrf(keyOf: (req: IncomingMessage) => Buffer, options: CsrfOptions = {}) {
  const field = options.field ?? '_csrf';
  const header = (options.header ?? 'x-csrf-token').toLowerCase();
  const requireToken = options.requireTokenWithoutOrigin ?? true;

  return function csrf(incoming: IncomingMessage, _res: ServerResponse, next: (error?: unknown) => void): void {
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
      // The token is bound to the session id, so the session must outlive this response.
      if (rs.isNew) rs.forceWrite();
      return csrfToken(key, rs.id);
    };
    const verdict = originVerdict(
      {
        method: req.method ?? 'GET',
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
    const submitted = single(req.headers[header]) ?? formField(req.body, field);
    const rs = req.tessera!;
    if (verdict === 'unknown' && !rs.isNew && verifyCsrfToken(key, rs.id, submitted)) {
      next();
      return;
    }
    next(new TesseraError('CROSS_SITE', 'Cross-site request refused'));
  };
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
