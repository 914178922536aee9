/**
 * Who a session belongs to, and the operations that change it: sign-in, token renewal, the end
 * of a session, and following a user the application records in the data itself
 * (`userIdFrom`, for login code such as passport's). Every change of user or privilege gives
 * the session a new id and token, so a token known before it opens nothing after it.
 * @module
 */
import type { SessionContext } from './context.js';
import type { SessionHandle } from './handle.js';
import { metaOf, type RequestInfo } from './request.js';
import { newFields, restart, type RequestState } from './request-state.js';
import * as users from './users.js';

/** One request's session, as the identity operations see it. */
export interface SessionParts {
  readonly ctx: SessionContext;
  readonly request: RequestInfo;
  readonly state: RequestState;
  readonly data: SessionHandle;
}

/** Why a session ends: reported in the `destroyed` event (a `regenerated` one is reported as such). */
export type EndReason = 'regenerated' | 'sign_out' | 'destroy';

/** The longest user id, in characters. */
const MAX_USER_ID_LENGTH = 256;

/** Whether `userId` is a user id tessera accepts: a non-empty string of at most 256 characters. */
export function isUserId(userId: unknown): userId is string {
  return typeof userId === 'string' && userId.length > 0 && userId.length <= MAX_USER_ID_LENGTH;
}

/** Sign `userId` in under a new id and token; see `RequestSession.signIn`. */
export async function signIn(parts: SessionParts, userId: string, keepData: boolean | readonly string[]): Promise<void> {
  const { ctx, request, state } = parts;
  const data = carried(parts.data.snapshot(), keepData);
  await users.checkRoomFor(ctx, userId, request, state.stored ? state.key : null);
  const previous = await endSession(parts, 'regenerated');
  restart(state, newFields(ctx.options.now(), userId, metaOf(request)));
  refill(parts.data, data);
  state.signedIn = true;
  reportRegenerated(parts, previous);
}

/** A new id and token for the same session (data, user, timestamps); see `RequestSession.renewToken`. */
export async function renewToken(parts: SessionParts): Promise<void> {
  const { version: _version, tokens: _tokens, ...kept } = parts.state.fields;
  const data = parts.data.snapshot();
  const previous = await endSession(parts, 'regenerated');
  restart(parts.state, { ...kept, version: 0 });
  refill(parts.data, data);
  reportRegenerated(parts, previous);
}

/**
 * Delete the stored session (if any), and what it was migrated from.
 * @returns the reference of the session deleted, or `null` if none was stored.
 */
export async function endSession(parts: SessionParts, reason: EndReason): Promise<string | null> {
  const { ctx, request, state } = parts;
  const previousRef = state.stored ? ctx.reference(state.key) : null;
  if (state.stored) {
    await ctx.gateway.remove(state.key, request);
    if (reason !== 'regenerated') ctx.emit('destroyed', request, previousRef, state.fields.userId, { reason });
  } else if (reason === 'destroy') {
    // As express-session: destroying asks the store even for a session it never held (a
    // store failure then reaches the app as it would have).
    await ctx.gateway.remove(state.key, request);
  }
  // A session migrated from express-session on this request: its old entry must go too, or
  // the old `s:` cookie would still open it.
  const removeCarried = state.removeCarried;
  state.removeCarried = undefined;
  if (removeCarried) await removeCarried();
  return previousRef;
}

/** End the session and continue as a new, empty, anonymous one. */
export async function endAndReset(parts: SessionParts, reason: 'sign_out' | 'destroy'): Promise<void> {
  await endSession(parts, reason);
  parts.state.signedIn = false;
  restart(parts.state, newFields(parts.ctx.options.now(), null, metaOf(parts.request)));
  parts.data.reset({});
}

/**
 * Follow the user the application keeps in the session data (`userIdFrom`), before a save.
 * A user appearing, or changing, is a sign-in: the per-user limit applies, and a session that
 * was already stored gets a new id and token (one made in this request, as passport's
 * `req.login` does with `regenerate`, is new already), keeping its data. A user disappearing
 * (passport's `req.logout`) leaves the session anonymous. Ids that are not a user id (empty,
 * longer than 256 characters, not a string or a finite number) count as no user. A stored
 * session whose headers already went out (a streamed response) cannot get the new token a
 * sign-in needs: it is left as it was, with a `setup_warning` (`user_after_headers`), and its
 * data is saved.
 * @throws TesseraError `SESSION_LIMIT` under the `reject` policy.
 */
export async function followUserInData(parts: SessionParts): Promise<void> {
  const { ctx, state } = parts;
  const from = ctx.options.userIdFrom;
  if (from === undefined) return;
  const found = userIdOf(from(parts.data.snapshot()));
  const current = state.fields.userId;
  if (found === current) return;
  if (found === null) {
    state.fields = { ...state.fields, userId: null, authenticatedAt: null };
    state.fieldsChanged = true;
    return;
  }
  if (state.stored) {
    // `ending`: the app ended the response, and this save runs before its headers go out.
    if (state.headers !== 'open' && state.headers !== 'ending') {
      ctx.emit('setup_warning', parts.request, ctx.reference(state.key), current, { reason: 'user_after_headers' });
      return;
    }
    await signIn(parts, found, true);
    return;
  }
  await users.checkRoomFor(ctx, found, parts.request, null);
  const now = ctx.options.now();
  state.fields = { ...state.fields, userId: found, authenticatedAt: now };
  state.fieldsChanged = true;
  state.signedIn = true;
}

/** The data a sign-in carries over: all of it, none, or the keys named. */
function carried(data: Record<string, unknown>, keep: boolean | readonly string[]): Record<string, unknown> {
  if (keep === true) return data;
  if (keep === false) return {};
  const kept: Record<string, unknown> = {};
  for (const key of keep) if (Object.hasOwn(data, key)) kept[key] = data[key];
  return kept;
}

/** A user id from what `userIdFrom` returned, or `null`. */
function userIdOf(value: unknown): string | null {
  const id = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  return isUserId(id) ? id : null;
}

/** Put data back as this request's own changes (it is written with the new session). */
function refill(handle: SessionHandle, data: Record<string, unknown>): void {
  handle.reset({});
  for (const [key, value] of Object.entries(data)) handle.set(key, value);
}

/** Report that the session `previousRef` (if one was stored) was replaced by this one. */
function reportRegenerated(parts: SessionParts, previousRef: string | null): void {
  if (previousRef !== null) {
    parts.ctx.emit('regenerated', parts.request, parts.ctx.reference(parts.state.key), parts.state.fields.userId, { previousRef });
  }
}
