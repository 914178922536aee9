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
    applyHeaders();
    return originalWriteHead.apply(this, args);
  } as WriteHead;

  res.end = function end(this: ServerResponse, ...args: unknown[]) {
    if (ending) return originalEnd.apply(this, args);
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
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.statusCode = status;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        originalEnd.call(res, status === 503 ? 'Service Unavailable' : 'Session error');
      },
    );
    return this;
  } as End;
}

function appendSetCookie(res: ServerResponse, value: string): void {
  const existing = res.getHeader('Set-Cookie');
  if (existing === undefined) res.setHeader('Set-Cookie', value);
  else if (Array.isArray(existing)) res.setHeader('Set-Cookie', [...existing, value]);
  else res.setHeader('Set-Cookie', [String(existing), value]);
}
