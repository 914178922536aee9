/**
 * Why a session ended, told to the next page: when the server ends a session (idle or absolute
 * timeout, revoked by its user on another device, revoked by an administrator, a replayed token,
 * a sign-out), the response carries a short-lived cookie holding only the reason
 * (`tessera-ended=idle`, `__Host-tessera-ended` over HTTPS). It is not secret and not
 * `HttpOnly`, so a page's script (`tessera/browser`) can read it as well as the server; it names
 * no session and no user, and a value that is not one of the reasons reads as none, so a
 * planted cookie can at most show another of these messages.
 *
 * A session ended by another request (revoked from another device) is remembered for a while by
 * the process that ended it, so the next request of the revoked browser learns the reason; on
 * another process it reads as a session that is gone, with no reason.
 * @module
 */
import { readCookie } from './cookie-reader.js';
import type { SessionContext } from './context.js';

/**
 * Why a session ended:
 * - `idle`: unused for longer than the idle timeout;
 * - `absolute`: older than the absolute timeout;
 * - `revoked`: its user ended it from another session ("sign out other devices", a session list,
 *   a password change);
 * - `admin`: an administrator ended it (`engine.revokeUser`, `engine.revokeOne`);
 * - `replay`: a replaced token came back after its grace window, so the session was ended;
 * - `signed_out`: the user signed out (in this browser: another tab, or this page).
 */
export type EndReason = 'idle' | 'absolute' | 'revoked' | 'admin' | 'replay' | 'signed_out';

/** Every {@link EndReason}. */
export const END_REASONS: readonly EndReason[] = Object.freeze(['idle', 'absolute', 'revoked', 'admin', 'replay', 'signed_out']);

/** The end-reason cookie's name: `__Host-` over HTTPS (only this host can set it), plain over HTTP. */
export const END_REASON_COOKIE = Object.freeze({ secure: '__Host-tessera-ended', plain: 'tessera-ended' });

/** How long the end-reason cookie lives, in seconds (5 min): long enough for the next page. */
export const END_REASON_MAX_AGE_S = 300;

/** Whether `value` is an {@link EndReason}. */
export function isEndReason(value: unknown): value is EndReason {
  return typeof value === 'string' && (END_REASONS as readonly string[]).includes(value);
}

/** The `Set-Cookie` value that tells the next page why the session ended. */
export function serializeEndReason(reason: EndReason, secure: boolean): string {
  const name = secure ? END_REASON_COOKIE.secure : END_REASON_COOKIE.plain;
  return `${name}=${reason}; Path=/; Max-Age=${END_REASON_MAX_AGE_S}; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The `Set-Cookie` value that removes the end-reason cookie (once a page has shown it). */
export function serializeEndReasonClear(secure: boolean): string {
  const name = secure ? END_REASON_COOKIE.secure : END_REASON_COOKIE.plain;
  return `${name}=; Path=/; Max-Age=0; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * The reason an end-reason cookie in a `Cookie` header gives, or `null` (none, two of them, or a
 * value that is not a reason). Never throws.
 */
export function readEndReason(cookie: string | readonly string[] | undefined): EndReason | null {
  for (const name of [END_REASON_COOKIE.secure, END_REASON_COOKIE.plain]) {
    const found = readCookie(cookie, name);
    if (found.kind === 'present' && isEndReason(found.value)) return found.value;
  }
  return null;
}

/** How many ended sessions one engine remembers the reason of. */
const MAX_REMEMBERED = 10_000;

/**
 * The reasons of sessions this process ended for someone else (revocations), by store key, so
 * the revoked browser's next request can be told. Bounded in entries (oldest first out) and in
 * time (an entry lasts as long as the session's idle timeout would have).
 */
export class EndedSessions {
  readonly #entries = new Map<string, { reason: EndReason; until: number }>();

  /** Remember that the session under `key` ended for `reason`, until `until` (ms since epoch). */
  remember(key: string, reason: EndReason, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { reason, until });
    if (this.#entries.size > MAX_REMEMBERED) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Why the session under `key` ended, if this process ended it recently. */
  recall(key: string, now: number): EndReason | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    if (now >= entry.until) {
      this.#entries.delete(key);
      return null;
    }
    return entry.reason;
  }
}

const memories = new WeakMap<SessionContext, EndedSessions>();

/** The ended sessions one engine remembers. */
export function endedSessionsOf(ctx: SessionContext): EndedSessions {
  let memory = memories.get(ctx);
  if (memory === undefined) memories.set(ctx, (memory = new EndedSessions()));
  return memory;
}

/** Remember that the sessions under `keys` were ended for `reason`, for one idle timeout. */
export function rememberEnded(ctx: SessionContext, keys: Iterable<string>, reason: EndReason): void {
  const memory = endedSessionsOf(ctx);
  const until = ctx.options.now() + ctx.options.idleTimeout;
  for (const key of keys) memory.remember(key, reason, until);
}
