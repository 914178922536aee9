/**
 * Commit a session before a Node `ServerResponse` sends its headers.
 *
 * `res.end()` is held until the session is saved, then the session's headers are added and the
 * response goes out. A response that streams (`res.write()` before `end`) gets its cookie
 * headers when the headers are written, and is saved before it ends. If the save fails before
 * anything was sent, the response becomes a 503 (or the configured status) instead of a success
 * that silently lost the session. Shared by the Express adapter and any Node-http adapter.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { ResponseHeaders } from '../core/request-session.js';

/** What the hook calls, in order. */
export interface CommitHooks {
  /** Save the session (called once, before the response ends). */
  save(): Promise<void>;
  /**
   * The headers to add. `beforeSave` is true when the headers go out before `save` ran
   * (a streamed response): a new session is then announced before it is written.
   */
  headers(beforeSave: boolean): ResponseHeaders;
  /** Called when `save` failed; the response status to use if nothing was sent yet. */
  onSaveError(error: unknown): number;
}

type End = ServerResponse['end'];

/** Headers that describe the app's body, dropped when a failed save replaces that body. */
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
type WriteHead = ServerResponse['writeHead'];

/** Patch `res` so that the session is committed before the response completes. */
export function commitBeforeEnd(res: ServerResponse, hooks: CommitHooks): void {
  const originalEnd = res.end as (...args: unknown[]) => ServerResponse;
  const originalWriteHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  let saved = false;
  let headersApplied = false;
  let ending = false;

  const applyHeaders = (): void => {
    if (headersApplied || res.headersSent) return;
    headersApplied = true;
    for (const [name, value] of hooks.headers(!saved)) {
      if (name.toLowerCase() === 'set-cookie') appendSetCookie(res, value);
      else res.setHeader(name, value);
    }
  };

  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    // Headers passed to writeHead would replace ours: move them onto the response first.
    const headersAt = typeof args[1] === 'string' ? 2 : 1;
    const given = args[headersAt];
    if (typeof given === 'object' && given !== null && !res.headersSent) {
      setAll(res, given as Record<string, unknown> | unknown[]);
      args = args.slice(0, headersAt);
    }
    applyHeaders();
    return originalWriteHead.apply(this, args);
  } as WriteHead;

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    // A second end() while the first waits for the save is ignored, as express-session does:
    // passing it through would end the response empty and make the first end() throw.
    if (ending) return this;
    ending = true;
    hooks.save().then(
      () => {
        saved = true;
        originalEnd.apply(res, args);
      },
      (error: unknown) => {
        const status = hooks.onSaveError(error);
        if (res.headersSent) {
          originalEnd.apply(res, args);
          return;
        }
        headersApplied = true; // no session headers on a failed save
        // Replace the body the app meant to send; keep its other headers (CSP, HSTS, ...).
        for (const name of REPRESENTATION_HEADERS) res.removeHeader(name);
        res.statusCode = status;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        originalEnd.call(res, status === 503 ? 'Service Unavailable' : 'Session error');
      },
    );
    return this;
  } as End;
}

/** Apply a writeHead headers argument (an object, or a flat [name, value, ...] array). */
function setAll(res: ServerResponse, headers: Record<string, unknown> | unknown[]): void {
  const pairs: Array<[string, unknown]> = Array.isArray(headers)
    ? Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [String(headers[2 * i]), headers[2 * i + 1]])
    : Object.entries(headers);
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    if (name.toLowerCase() === 'set-cookie') {
      for (const cookie of Array.isArray(value) ? value : [value]) appendSetCookie(res, String(cookie));
    } else {
      res.setHeader(name, value as string | number | readonly string[]);
    }
  }
}

function appendSetCookie(res: ServerResponse, value: string): void {
  const existing = res.getHeader('Set-Cookie');
  if (existing === undefined) res.setHeader('Set-Cookie', value);
  else if (Array.isArray(existing)) res.setHeader('Set-Cookie', [...existing, value]);
  else res.setHeader('Set-Cookie', [String(existing), value]);
}
