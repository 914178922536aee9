/**
 * The one error class of tessera and its closed set of codes. Match on `code`, never on the
 * message text.
 * @module
 */

/**
 * Every code a {@link TesseraError} can carry, with the HTTP status an adapter answers with.
 * - `INVALID_OPTION`: a configuration error, thrown at construction (500 if ever reached at runtime).
 * - `STORE_UNAVAILABLE`: the store could not be reached or failed; adapters answer 503.
 * - `WRITE_CONFLICT`: compare-and-set kept failing past the retry bound; 503.
 * - `NOT_AUTHENTICATED`: an operation needs a signed-in session; 401.
 * - `NOT_FRESH`: a step-up check failed because the user authenticated too long ago; 403.
 * - `SESSION_LIMIT`: the per-user session limit was reached with the `reject` policy; 403.
 * - `CROSS_SITE`: a state-changing request came from another site, or carried no valid CSRF
 *   token where the browser sent no origin information; 403.
 * - `SESSION_ENDED`: a `req.session` object was used after `destroy()` or `regenerate()`
 *   replaced it in this request; 500 (a programming error: use the new `req.session`).
 * - `HEADERS_SENT`: `signIn`, `renewToken` or `elevate` ran after the response headers had
 *   been sent, so the new cookie could not reach the client; 500 (call it before responding).
 * - `INVALID_DATA`: a session data value JSON cannot hold (a BigInt, a cycle, a function); the
 *   message names the key. Nothing was written; 500 (an application bug, not an outage).
 * - `DATA_TOO_LARGE`: the session data is larger than `maxDataBytes`; nothing was written; 500.
 */
export const ERROR_STATUS = {
  INVALID_OPTION: 500,
  STORE_UNAVAILABLE: 503,
  WRITE_CONFLICT: 503,
  NOT_AUTHENTICATED: 401,
  NOT_FRESH: 403,
  SESSION_LIMIT: 403,
  CROSS_SITE: 403,
  SESSION_ENDED: 500,
  HEADERS_SENT: 500,
  INVALID_DATA: 500,
  DATA_TOO_LARGE: 500,
} as const;

/** The closed set of error codes. */
export type TesseraErrorCode = keyof typeof ERROR_STATUS;

/** The error tessera throws. `status` is the HTTP status adapters answer with. */
export class TesseraError extends Error {
  /** Machine-readable reason; see {@link ERROR_STATUS}. */
  readonly code: TesseraErrorCode;
  /** HTTP status code an adapter uses for this error. */
  readonly status: number;
  /** Alias of `status` for Express's default error handler. */
  readonly statusCode: number;
  /** Express's error handler shows the message of errors with `expose: true` only. */
  readonly expose: boolean;

  /**
   * @param options.cause the underlying error (a store driver's, say).
   * @param options.status an HTTP status other than the code's usual one (an adapter's
   * `storeErrorStatus`).
   */
  constructor(code: TesseraErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.status = options?.status ?? ERROR_STATUS[code];
    this.statusCode = this.status;
    this.expose = this.status < 500;
  }
}

/** Whether a value is a {@link TesseraError}, optionally with the given code. */
export function isTesseraError(value: unknown, code?: TesseraErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code);
}

/**
 * Wrap any failure of a store call as `STORE_UNAVAILABLE`, keeping the original as `cause`. The
 * message is the cause's own (what express-session hands to `next(err)`), with anything that
 * looks like a credential removed (see {@link sanitise}); `expose` is false, so Express's
 * error handler never shows it to clients.
 */
export function storeUnavailable(cause: unknown): TesseraError {
  if (isTesseraError(cause)) return cause;
  const message = cause instanceof Error && cause.message !== '' ? sanitise(cause.message) : 'The session store is unavailable';
  return new TesseraError('STORE_UNAVAILABLE', message, { cause });
}

/**
 * A driver's error message without what may be a credential: URLs lose their user info, and
 * `password=...`-like pairs their value. Bounded to 200 characters.
 */
export function sanitise(message: string): string {
  return message
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@')
    .replace(/\b(password|passwd|pwd|secret|token|auth)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;]+)/gi, '$1$2***')
    .slice(0, 200);
}
