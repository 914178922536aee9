/**
 * The state of one request's session, with its legal combinations written down. Only the
 * modules of the request lifecycle (`commit`, `headers`, `request-session`) change it.
 * @module
 */
import type { SessionMeta, SessionRecord } from '../store/types.js';
import { newIdentity, storeKeyOf, type Identity } from './token.js';

/** The record fields a request keeps beside the data (the data lives in the `SessionHandle`). */
export type RecordFields = Omit<SessionRecord, 'data' | 'expiresAt'>;

/**
 * One request's session.
 *
 * Invariants:
 * - `stored: false`: the session is not in the store (new, or ended during this request).
 *   `identity` is a fresh one no response has carried yet, `key` is its store key, and
 *   `fields.version` is 0. `cookie` is `keep` (nothing to send unless the session is created)
 *   or `clear` (the cookie the request brought led nowhere: clear it if no session is created).
 * - `stored: true`: `key` names a record of version `fields.version` in the store. `identity`
 *   is what the client holds after this response, or `null` when it holds a token this
 *   response must not re-send (a request in the rotation grace window). `cookie` is `keep` or
 *   `set`.
 * - `headers`: `open` until the app ends the response (`ending`: the save runs, the headers
 *   follow) or the headers are written; then `sent` when they carried everything the session
 *   needs, or `sent-without-cookie` when a session that did not exist yet could not be
 *   announced, which the save then must not create. Only `open` allows a new identity.
 */
export interface RequestState {
  key: string;
  identity: Identity | null;
  stored: boolean;
  fields: RecordFields;
  cookie: 'keep' | 'set' | 'clear';
  /**
   * The request brought the session cookie twice (cookie tossing). Its cookie is never cleared
   * for that (the app's own copy would go, the planted one stay); the scopes of
   * `cookie.clearOnDuplicate` are cleared instead.
   */
  tossed: boolean;
  headers: 'open' | 'ending' | 'sent' | 'sent-without-cookie';
  /** `fields` differ from the stored record beyond what touch and rotation change. */
  fieldsChanged: boolean;
  /** Write on the next save even if nothing changed (express-session `resave`, `save()`). */
  forceWrite: boolean;
  /** Extend the idle deadline on the next save even within the touch interval. */
  forceTouch: boolean;
  /** Send `Clear-Site-Data` (after a sign-out). */
  clearSiteData: boolean;
  /** `signIn` ran: emit `authenticated` once the new session is stored. */
  signedIn: boolean;
  /** Delete the express-session entry this session was migrated from, once it is stored. */
  removeCarried: (() => Promise<void>) | undefined;
  /**
   * The session is moving from express-session under an identity derived from the old id (not
   * stored yet): a create that finds the key taken joins the session a parallel request of the
   * same old cookie stored there.
   */
  migrated: boolean;
}

/** The fields of a session that is not stored yet. */
export function newFields(now: number, userId: string | null, meta: SessionMeta): RecordFields {
  return { version: 0, createdAt: now, authenticatedAt: userId === null ? null : now, lastSeenAt: now, userId, meta };
}

/** A state for a new session with a fresh identity. */
export function newState(now: number, meta: SessionMeta, cookie: 'keep' | 'clear', tossed = false): RequestState {
  const identity = newIdentity();
  return {
    key: storeKeyOf(identity.sid),
    identity,
    stored: false,
    fields: newFields(now, null, meta),
    cookie,
    tossed,
    headers: 'open',
    fieldsChanged: false,
    forceWrite: false,
    forceTouch: false,
    clearSiteData: false,
    signedIn: false,
    removeCarried: undefined,
    migrated: false,
  };
}

/** A state for a live session loaded from the store. */
export function liveState(key: string, record: SessionRecord, identity: Identity | null, sendCookie: boolean): RequestState {
  const { data: _data, expiresAt: _expiresAt, ...fields } = record;
  return {
    key,
    identity,
    stored: true,
    fields,
    cookie: sendCookie ? 'set' : 'keep',
    tossed: false,
    headers: 'open',
    fieldsChanged: false,
    forceWrite: false,
    forceTouch: false,
    clearSiteData: false,
    signedIn: false,
    removeCarried: undefined,
    migrated: false,
  };
}

/** Start over as a new session under a fresh identity (after an end, a sign-in, a token renewal). */
export function restart(state: RequestState, fields: RecordFields): void {
  const identity = newIdentity();
  const wasStored = state.stored;
  state.identity = identity;
  state.key = storeKeyOf(identity.sid);
  state.stored = false;
  state.migrated = false;
  state.fields = fields;
  state.fieldsChanged = false;
  state.forceWrite = false;
  state.forceTouch = false;
  // The browser holds a cookie for a session that is gone: clear it unless the new one is set.
  if (wasStored || state.cookie === 'set') state.cookie = 'clear';
  else if (state.cookie !== 'clear') state.cookie = 'keep';
}
