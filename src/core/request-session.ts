/**
 * One request's view of its session: the data handle, sign-in and sign-out, per-user controls,
 * and the commit that writes what changed before the response headers go out. A thin facade:
 * loading is `./load.js`, writing `./commit.js`, headers `./headers.js`, sign-in and the end of
 * a session `./identity.js`, per-user controls `./users.js`; the state they share is
 * documented in `./request-state.js`.
 * @module
 */
import { clampCookieAge } from './cookie.js';
import { commit, cookieMaxAge } from './commit.js';
import type { SessionContext } from './context.js';
import { rememberEnded, type EndReason } from './ended.js';
import { TesseraError } from './errors.js';
import { SessionHandle } from './handle.js';
import { responseHeaders, type ResponseHeaders } from './headers.js';
import type { Loaded } from './load.js';
import { absoluteDeadline, expiryReason, idleDeadline, notAfter } from './policy.js';
import { metaOf, type RequestInfo } from './request.js';
import { keptKeys } from './options.js';
import { liveState, newState, type RequestState } from './request-state.js';
import * as identity from './identity.js';
import { isUserId, type SessionParts } from './identity.js';
import { storeKeyOf } from './token.js';
import { transportOf, type RequestTransport } from './transport.js';
import * as users from './users.js';
import type { SessionInfo } from './users.js';

let construct: (ctx: SessionContext, request: RequestInfo, loaded: Loaded, at?: number) => RequestSession;

/** Make the session of a request from how it loaded. Internal to the engine. */
export function createRequestSession(ctx: SessionContext, request: RequestInfo, loaded: Loaded, at?: number): RequestSession {
  return construct(ctx, request, loaded, at);
}

/** The longest per-session idle timeout, in ms (400 days). */
const MAX_IDLE_OVERRIDE_MS = 400 * 24 * 60 * 60 * 1000;

/** The session of one request. Obtained from `sessions.load(request)`. */
export class RequestSession {
  /** The session data. */
  readonly data: SessionHandle;
  readonly #ctx: SessionContext;
  readonly #request: RequestInfo;
  readonly #state: RequestState;
  /** Why the session this request came with ended (during the load, or by `signOut`), if it did. */
  #ended: EndReason | null = null;

  static {
    construct = (ctx, request, loaded, at) => new RequestSession(ctx, request, loaded, at);
  }

  private constructor(ctx: SessionContext, request: RequestInfo, loaded: Loaded, at?: number) {
    this.#ctx = ctx;
    this.#request = request;
    if (loaded.kind === 'live') {
      this.#state = liveState(loaded.key, loaded.record, loaded.identity, loaded.sendCookie);
      this.data = new SessionHandle(loaded.record.data);
      if (loaded.meta !== undefined) {
        this.#state.fields.meta = loaded.meta;
        this.#state.fieldsChanged = true;
      }
      return;
    }
    this.#ended = loaded.ended ?? null;
    const now = at ?? ctx.options.now();
    this.#state = newState(now, metaOf(request), loaded.cookie === 'clear' ? 'clear' : 'keep', loaded.cookie === 'duplicate');
    this.data = new SessionHandle(loaded.carry?.data ?? {});
    if (loaded.carry !== undefined) {
      this.#state.removeCarried = loaded.carry.remove;
      const migrated = loaded.carry.identity;
      if (migrated !== undefined) {
        // The carried data is the session's, not this request's changes: a parallel request
        // moving the same old session may store it first, and only changes are re-applied.
        Object.assign(this.#state, { identity: migrated, key: storeKeyOf(migrated.sid), migrated: true });
      } else {
        this.data.markAllWritten();
      }
    }
  }

  /**
   * The session id: the store key, `base64url(SHA-256(session id))`. It stays the same through
   * token rotations and changes on sign-in. Safe to show and log (it cannot be turned back
   * into a cookie). A new session has one from the start.
   */
  get id(): string {
    return this.#state.key;
  }

  /**
   * How this request's token travels: `'cookie'`, or `'header'` (`Authorization: Bearer` or
   * the configured `tokenHeader`; see `transport`). A header request carries no ambient
   * credential a browser would add on its own, so CSRF guards let it through.
   */
  get transport(): RequestTransport {
    return transportOf(this.#ctx.options, this.#request);
  }

  /** The short HMAC reference used in events and logs. */
  get ref(): string {
    return this.#ctx.reference(this.#state.key);
  }

  /** Whether the session is not in the store (yet). */
  get isNew(): boolean {
    return !this.#state.stored;
  }

  /** The signed-in user, or `null`. */
  get userId(): string | null {
    return this.#state.fields.userId;
  }

  /** When the user signed in (ms since epoch), or `null`. */
  get authenticatedAt(): number | null {
    return this.#state.fields.authenticatedAt;
  }

  /**
   * When the session was created (ms since epoch). A time a little ahead of this host's clock
   * (within `maxClockSkew`: written by a host whose clock is ahead) reads as now.
   */
  get createdAt(): number {
    return this.#seen().createdAt;
  }

  /** When the server last saw the session (ms since epoch); as {@link createdAt}, never later than now. */
  get lastSeenAt(): number {
    return this.#seen().lastSeenAt;
  }

  /** When the session expires if unused (ms since epoch). */
  get idleExpiresAt(): number {
    return idleDeadline(this.#seen(), this.#ctx.options);
  }

  /** When the session expires however active (ms since epoch). */
  get absoluteExpiresAt(): number {
    return absoluteDeadline(this.#seen(), this.#ctx.options);
  }

  /** The record's times as this host reports them: none later than now. */
  #seen(): { createdAt: number; lastSeenAt: number; idleTimeoutMs?: number | undefined } {
    const { createdAt, lastSeenAt, idleTimeoutMs } = this.#state.fields;
    const now = this.#ctx.options.now();
    return { createdAt: notAfter(createdAt, now), lastSeenAt: notAfter(lastSeenAt, now), idleTimeoutMs };
  }

  /** Per-session idle timeout override in ms (`undefined`: the configured one); at most 400 days. */
  get idleTimeoutOverride(): number | undefined {
    return this.#state.fields.idleTimeoutMs;
  }

  set idleTimeoutOverride(ms: number | undefined) {
    if (ms !== undefined && !(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
      throw new TesseraError('INVALID_OPTION', 'idle timeout must be a positive number of ms');
    }
    const value = ms === undefined ? undefined : Math.min(ms, MAX_IDLE_OVERRIDE_MS);
    if (value === this.#state.fields.idleTimeoutMs) return;
    if (value === undefined) delete this.#state.fields.idleTimeoutMs;
    else this.#state.fields.idleTimeoutMs = value;
    this.#state.fieldsChanged = true;
  }

  /**
   * Lifetime in ms of this session's persistent cookie, `null` for a browser-session cookie.
   * Longer than 400 days is kept as 400 days, the most browsers keep (RFC 6265bis).
   */
  get cookieMaxAge(): number | null {
    return cookieMaxAge(this.#ctx, this.#request, this.#state);
  }

  set cookieMaxAge(ms: number | null) {
    if (ms !== null && !(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
      throw new TesseraError('INVALID_OPTION', 'cookie max age must be a positive number of ms or null');
    }
    const value = ms === null ? null : clampCookieAge(ms);
    if (value === this.cookieMaxAge) return;
    this.#state.fields.cookieMaxAgeMs = value;
    this.#state.fieldsChanged = true;
    this.resendCookie();
  }

  /** Whether the user authenticated within the last `maxAge` ms. */
  isFresh(maxAge: number): boolean {
    const at = this.#state.fields.authenticatedAt;
    return at !== null && this.#ctx.options.now() - at <= maxAge;
  }

  /**
   * Step-up guard for sensitive actions.
   * @throws TesseraError `NOT_AUTHENTICATED` without a user, `NOT_FRESH` if the sign-in is older than `maxAge` ms.
   */
  requireFresh(maxAge: number): void {
    if (this.#state.fields.userId === null) throw new TesseraError('NOT_AUTHENTICATED', 'Sign-in required');
    if (!this.isFresh(maxAge)) throw new TesseraError('NOT_FRESH', 'Recent sign-in required');
  }

  /**
   * Sign a user in: the session is replaced by a new one (new id, new token; the old ones stop
   * working at once), the user is recorded, and the per-user session limit is enforced.
   * @param options.keepData what of the anonymous data to carry over: `true` all, `false`
   * none, or a list of keys. @default the `keepDataOnSignIn` option (`false`)
   * @throws TesseraError `SESSION_LIMIT` when the limit is reached with the `reject` policy;
   * `HEADERS_SENT` when the response headers have already gone out.
   */
  async signIn(userId: string, options: { keepData?: boolean | readonly string[] } = {}): Promise<void> {
    if (!isUserId(userId)) {
      throw new TesseraError('INVALID_OPTION', 'signIn: userId must be a non-empty string of at most 256 characters');
    }
    this.#assertHeadersOpen('signIn');
    const keep = keptKeys(options.keepData, 'signIn: keepData') ?? this.#ctx.options.keepDataOnSignIn;
    await identity.signIn(this.#parts, userId, keep);
  }

  /**
   * Why the session this request's cookie led to has ended, or `null`: found ended while loading
   * (`idle`, `absolute`, `replay`; `revoked` or `admin` when this process ended it), or
   * `signed_out` after {@link signOut} of a signed-in session. The response tells the next page
   * in a short-lived cookie holding only the reason (see the README's "Why a session ended").
   */
  get endReason(): EndReason | null {
    return this.#ended;
  }

  /** Sign out: delete the session, clear the cookie, and send `Clear-Site-Data`. */
  async signOut(): Promise<void> {
    const state = this.#state;
    const wasSignedIn = state.stored && state.fields.userId !== null;
    const key = state.key;
    await identity.endAndReset(this.#parts, 'sign_out');
    state.clearSiteData = this.#ctx.options.clearSiteData !== false;
    if (wasSignedIn) {
      this.#ended = 'signed_out';
      // A request of another tab already on its way with the old cookie is told too.
      rememberEnded(this.#ctx, [key], 'signed_out');
    }
  }

  /** Delete the session and clear the cookie. The handle continues as a new, empty session. */
  async destroy(): Promise<void> {
    await identity.endAndReset(this.#parts, 'destroy');
  }

  /**
   * End this session and continue with a new, empty one under a new id (express-session's
   * `regenerate`). The new one is stored, and its cookie set, only if something is stored in it.
   */
  async regenerate(): Promise<void> {
    await identity.endAndReset(this.#parts, 'destroy');
  }

  /**
   * Replace the session's id and token, keeping its data, user and timestamps: call it when
   * privileges change (OWASP asks for a new session id on every privilege change). The old
   * cookie stops working at once.
   * @throws TesseraError `HEADERS_SENT` when the response headers have already gone out.
   */
  async renewToken(): Promise<void> {
    this.#assertHeadersOpen('renewToken');
    await identity.renewToken(this.#parts);
  }

  /** Replace the token after a change of privileges (an admin mode, a role change): {@link renewToken}. */
  async elevate(): Promise<void> {
    await this.renewToken();
  }

  /** Load the session again from the store, dropping unsaved changes. @returns false if it is gone. */
  async reload(): Promise<boolean> {
    const state = this.#state;
    if (!state.stored) return false;
    const record = await this.#ctx.gateway.read(state.key, this.#request, () => this.ref);
    if (record === null || expiryReason(record, this.#ctx.options, this.#ctx.options.now()) !== null) {
      await identity.endAndReset(this.#parts, 'destroy');
      return false;
    }
    const fresh = liveState(state.key, record, state.identity, state.cookie === 'set');
    Object.assign(state, { fields: fresh.fields, fieldsChanged: false });
    this.data.reset(record.data);
    return true;
  }

  /** Write the whole session on the next save even if nothing changed (express-session `resave`). */
  forceWrite(): void {
    this.#state.forceWrite = true;
  }

  /** Extend the idle deadline on the next save even if the touch interval has not passed. */
  touch(): void {
    this.#state.forceTouch = true;
  }

  /** Send the cookie on this response even if it did not change (express-session `rolling`). */
  resendCookie(): void {
    if (this.#state.cookie !== 'clear' && this.#state.identity !== null) this.#state.cookie = 'set';
  }

  /**
   * Make this response delete the session cookie in the browser, unless a session is stored by
   * the end of the request (after `destroy()` the cookie is cleared anyway; this also clears a
   * cookie the request did not bring, as express-session does for an expiry in the past).
   */
  clearCookie(): void {
    if (!this.#state.stored) this.#state.cookie = 'clear';
  }

  /** Whether {@link save} would write anything: changed data or settings, or a forced write. */
  get hasUnsavedChanges(): boolean {
    const state = this.#state;
    return state.forceWrite || state.fieldsChanged || this.data.isDirty || (!state.stored && state.signedIn);
  }

  /** The sessions of the signed-in user (none when anonymous), the current one marked. */
  async listSessions(): Promise<SessionInfo[]> {
    const userId = this.#state.fields.userId;
    if (userId === null) return [];
    return users.listSessions(this.#ctx, userId, this.#request, this.#state.stored ? this.#state.key : null);
  }

  /**
   * End one session of the signed-in user, by the `id` from {@link listSessions}. Ending the
   * current one is a sign-out. @returns whether a session was ended.
   */
  async revokeSession(id: string): Promise<boolean> {
    const userId = this.#requireUser();
    if (this.#state.stored && id === this.#state.key) {
      await this.signOut();
      return true;
    }
    const ended = await users.revokeOne(this.#ctx, userId, id, this.#request);
    if (ended) rememberEnded(this.#ctx, [id], 'revoked');
    return ended;
  }

  /** End every other session of the signed-in user. @returns how many were ended. */
  async signOutOthers(): Promise<number> {
    return this.#revokeOthers('sign_out_others');
  }

  /** End every session of the signed-in user, this one included (a sign-out everywhere). */
  async signOutEverywhere(): Promise<number> {
    const count = await this.#revokeOthers('sign_out_everywhere');
    await this.signOut();
    return count + 1;
  }

  /** End the user's other sessions, remembering why for their next request. */
  async #revokeOthers(reason: 'sign_out_others' | 'sign_out_everywhere'): Promise<number> {
    const userId = this.#requireUser();
    const current = this.#state.stored ? this.#state.key : undefined;
    const others = (await users.liveSessions(this.#ctx, userId, this.#request)).map((entry) => entry.key).filter((key) => key !== current);
    const count = await users.revokeUser(this.#ctx, userId, this.#request, current, reason);
    rememberEnded(this.#ctx, others, 'revoked');
    return count;
  }

  /**
   * Whether a store call failed during this request. Adapters then leave the response to the
   * application's error handling instead of trying to save again.
   */
  get storeFailed(): boolean {
    return this.#ctx.gateway.failed(this.#request);
  }

  /**
   * Write pending changes to the store: creates a new session that has content, writes changed
   * data with compare-and-set (re-applying this request's changes on conflict), or extends the
   * idle deadline at most once per `touchInterval`. Safe to call more than once.
   * @throws TesseraError `STORE_UNAVAILABLE` or `WRITE_CONFLICT`.
   */
  async save(): Promise<void> {
    await identity.followUserInData(this.#parts);
    await commit(this.#ctx, this.#request, this.#state, this.data);
  }

  /**
   * The response is being completed (an adapter calls this when the app ends it): from now on
   * `signIn` and `renewToken` fail with `HEADERS_SENT`, since the cookie they would set could
   * no longer be added. Idempotent.
   */
  responseEnding(): void {
    if (this.#state.headers === 'open') this.#state.headers = 'ending';
  }

  /**
   * The headers this response must carry: `Set-Cookie` when the cookie changed (with
   * `Cache-Control: no-store` so no cache keeps it), and `Clear-Site-Data` after a sign-out.
   * @param beforeSave true when the headers must go out before {@link save} runs.
   */
  responseHeaders(beforeSave = false): ResponseHeaders {
    return responseHeaders(this.#ctx, this.#request, this.#state, this.data, beforeSave, this.#ended);
  }

  /** This session as the identity operations (`./identity.js`) see it. */
  get #parts(): SessionParts {
    return { ctx: this.#ctx, request: this.#request, state: this.#state, data: this.data };
  }

  #requireUser(): string {
    const userId = this.#state.fields.userId;
    if (userId === null) throw new TesseraError('NOT_AUTHENTICATED', 'Sign-in required');
    return userId;
  }

  #assertHeadersOpen(operation: string): void {
    if (this.#state.headers !== 'open') {
      throw new TesseraError('HEADERS_SENT', `${operation}: the response headers were already sent, so the new cookie cannot reach the client`);
    }
  }
}
