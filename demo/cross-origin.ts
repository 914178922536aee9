/**
 * CSRF defence for state-changing requests, without tokens: browsers say where a request comes
 * from in `Sec-Fetch-Site` (all current browsers) and `Origin` (sent with every POST), and a
 * cross-site form or fetch cannot forge either. Same algorithm as Go's
 * `http.CrossOriginProtection`; the session cookie's `SameSite=Lax` is a second layer.
 * @module
 */
import type { NextFunction, Request, Response } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether a request may change state: a safe method, or one that comes from this origin (or
 * from the user typing the URL: `Sec-Fetch-Site: none`). Requests with neither header come from
 * non-browser clients, which carry no ambient cookies an attacker could borrow.
 */
export function isSameOriginRequest(req: Request): boolean {
  if (SAFE_METHODS.has(req.method)) return true;
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  const origin = req.get('origin');
  if (origin === undefined) return true;
  const host = req.get('host');
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false; // `Origin: null` (sandboxed frames, some redirects) or garbage
  }
}

/** Express middleware: answer 403 to cross-origin state-changing requests. */
export function rejectCrossOrigin(onReject: (req: Request, res: Response) => void) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (isSameOriginRequest(req)) next();
    else onReject(req, res);
  };
}
