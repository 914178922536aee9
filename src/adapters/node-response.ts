/**
 * Commit a session before a Node `ServerResponse` completes, whatever way the app responds.
 *
 * - `res.end()` is held until the session is saved; then the session's headers are added and
 *   the response goes out.
 * - Headers that leave earlier (`res.write()`, `res.writeHead()`, `res.flushHeaders()`, a
 *   static file, `compression()`) all pass through `writeHead`, which adds the session's headers
 *   at that moment (a rotated token decided when the session loaded goes out with them).
 * - If the save (or writing the session's headers) fails before anything was sent, the app's
 *   body is not sent: {@link CommitHooks.onError} decides (the Express adapter passes the error
 *   to the app's error handler, whose response then goes through untouched). Nothing thrown
 *   here can escape as an unhandled rejection.
 * Shared by the Node-http adapters.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ResponseHeaders } from '../core/headers.js';

/** What the hook calls, in order. */
export interface CommitHooks {
  /** The app is ending the response: nothing may change the session's identity any more. */
  ending(): void;
  /** Save the session (called once, before the response ends). */
  save(): Promise<void>;
  /**
   * The headers to add. `beforeSave` is true when the headers go out before `save` ran
   * (a streamed response): a new session is then announced before it is written.
   */
  headers(beforeSave: boolean): ResponseHeaders;
  /**
   * The save or the session's headers failed. `headersSent` tells whether the app's status
   * and headers already left. The hook must see that a response is sent: it may send the
   * response the app wrote (`respond.asTheAppWrote()`), or a short plain-text error
   * (`respond.withStatus(status)`), or leave it to whatever handles the error it passes on.
   */
  onError(error: unknown, headersSent: boolean, respond: Responses): void;
}

/** What {@link CommitHooks.onError} may send. */
export interface Responses {
  /** End the response as the app asked (its status, headers and body; no session headers). */
  asTheAppWrote(): void;
  /** Replace the app's body with a short plain-text error of this status. */
  withStatus(status: number): void;
}

type End = ServerResponse['end'];
type WriteHead = ServerResponse['writeHead'];
type SetHeader = ServerResponse['setHeader'];

/** Node's error for a header change after the headers went out (the same code and message). */
function headersSentError(): Error {
  return Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' });
}

/** Headers that describe the app's body, dropped when an error response replaces that body. */
const REPRESENTATION_HEADERS = [
  'content-length',
  'content-type',
  'content-encoding',
  'content-language',
  'content-range',
  'etag',
  'last-modified',
  'location',
  'set-cookie',
  'transfer-encoding',
];

/** Patch `res` so that the session is committed before the response completes. */
export function commitBeforeEnd(res: ServerResponse, hooks: CommitHooks): void {
  const originalEnd = res.end as (...args: unknown[]) => ServerResponse;
  const originalWriteHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  const originalSetHeader = res.setHeader;
  const setHeader = (name: string, value: number | string | readonly string[]): void => void originalSetHeader.call(res, name, value);
  let saved = false;
  let headersApplied = false;
  /** `open`: end() not called yet; `saving`: the first end() waits for the save; `done`: pass through. */
  let phase: 'open' | 'saving' | 'done' = 'open';

  /** Add the session's headers once, if they can still go out. @returns an error, if writing them failed. */
  const applyHeaders = (): unknown => {
    if (headersApplied || res.headersSent) return undefined;
    headersApplied = true;
    try {
      for (const [name, value] of hooks.headers(!saved)) {
        if (name.toLowerCase() === 'set-cookie') appendSetCookie(res, setHeader, value);
        else setHeader(name, value);
      }
      return undefined;
    } catch (error) {
      return error ?? new Error('session headers failed');
    }
  };

  const fallback = (status: number): void => {
    if (res.headersSent) {
      originalEnd.call(res);
      return;
    }
    // Replace the body the app meant to send; keep its other headers (CSP, HSTS, ...).
    for (const name of REPRESENTATION_HEADERS) res.removeHeader(name);
    res.statusCode = status;
    setHeader('Content-Type', 'text/plain; charset=utf-8');
    setHeader('Cache-Control', 'no-store');
    originalEnd.call(res, status === 503 ? 'Service Unavailable' : 'Internal Server Error');
  };

  const fail = (error: unknown, args: unknown[]): void => {
    phase = 'done';
    headersApplied = true; // no session headers on a failed save
    const sent = res.headersSent;
    const respond: Responses = {
      asTheAppWrote: () => {
        if (!res.writableEnded) originalEnd.apply(res, args);
      },
      withStatus: fallback,
    };
    try {
      hooks.onError(error, sent, respond);
    } catch {
      fallback(500);
    }
    // The app's status and headers are gone: finish its response as it meant to.
    if (sent) respond.asTheAppWrote();
  };

  // After the app ended the response, its headers are as good as sent (express-session sends
  // them then): a change now fails as Node's own would, instead of going out with the response.
  res.setHeader = function setHeaderWhileSaving(this: ServerResponse, name: string, value: number | string | readonly string[]) {
    if (phase === 'saving') throw headersSentError();
    return originalSetHeader.call(this, name, value);
  } as SetHeader;

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    // Headers passed to writeHead would replace ours: move them onto the response first.
    const headersAt = typeof args[1] === 'string' ? 2 : 1;
    const given = args[headersAt];
    if (typeof given === 'object' && given !== null && !res.headersSent) {
      setAll(res, given as Record<string, unknown> | unknown[], setHeader);
      args = args.slice(0, headersAt);
    }
    // Failing here cannot stop a response that is being written: send it without the
    // session's headers, and report the error once the response ends.
    const error = phase === 'done' ? undefined : applyHeaders();
    if (error !== undefined) queueMicrotask(() => hooks.onError(error, true, { asTheAppWrote: () => {}, withStatus: () => {} }));
    return originalWriteHead.apply(this, args);
  } as WriteHead;

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (phase === 'done') return originalEnd.apply(this, args);
    // A second end() while the first waits for the save is ignored, as express-session does:
    // passing it through would end the response empty and make the first end() throw.
    if (phase === 'saving') return this;
    phase = 'saving';
    let saving: Promise<void>;
    try {
      hooks.ending();
      saving = hooks.save();
    } catch (error) {
      saving = Promise.reject(error);
    }
    saving.then(
      () => {
        saved = true;
        const error = applyHeaders();
        if (error !== undefined) {
          fail(error, args);
          return;
        }
        phase = 'done';
        originalEnd.apply(res, args);
      },
      (error: unknown) => fail(error, args),
    );
    return this;
  } as End;
}

/** Apply a writeHead headers argument (an object, or a flat [name, value, ...] array). */
function setAll(res: ServerResponse, headers: Record<string, unknown> | unknown[], setHeader: (name: string, value: number | string | readonly string[]) => void): void {
  const pairs: Array<[string, unknown]> = Array.isArray(headers)
    ? Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [String(headers[2 * i]), headers[2 * i + 1]])
    : Object.entries(headers);
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    if (name.toLowerCase() === 'set-cookie') {
      for (const cookie of Array.isArray(value) ? value : [value]) appendSetCookie(res, setHeader, String(cookie));
    } else {
      setHeader(name, value as string | number | readonly string[]);
    }
  }
}

function appendSetCookie(res: ServerResponse, setHeader: (name: string, value: string | readonly string[]) => void, value: string): void {
  const existing = res.getHeader('Set-Cookie');
  if (existing === undefined) setHeader('Set-Cookie', value);
  else if (Array.isArray(existing)) setHeader('Set-Cookie', [...existing, value]);
  else setHeader('Set-Cookie', [String(existing), value]);
}
