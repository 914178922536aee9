/**
 * Typed session events for audit logs and monitoring. An event never carries the token or the
 * cookie value: the session is named by `sessionRef`, an HMAC of its store key.
 * @module
 */
import type { RequestInfo } from './request.js';

/** Why a presented cookie was refused before any store read. */
export type InvalidTokenReason = 'malformed' | 'duplicate' | 'oversized' | 'unknown_key' | 'bad_signature';

/** Fields every event carries. */
export interface EventBase {
  /** When it happened, ms since epoch (from the configured clock). */
  time: number;
  /** HMAC-SHA256 reference of the session's store key (22 base64url chars), or `null`. */
  sessionRef: string | null;
  /** The signed-in user, if any. */
  userId: string | null;
  /** Client IP as the adapter saw it. */
  ip: string | undefined;
  /** The `User-Agent` header. */
  userAgent: string | undefined;
  /** HTTP method. */
  method: string | undefined;
  /** URL path (without the query string). */
  path: string | undefined;
}

/** Every event tessera emits. Discriminate on `type`. */
export type SessionEvent = EventBase &
  (
    | { type: 'created' }
    | { type: 'authenticated' }
    | {
        type: 'regenerated';
        /** The reference of the session that was replaced. */
        previousRef: string;
      }
    /** A token rotation completed: the client showed it holds the new token. */
    | { type: 'rotated' }
    /** A token that was replaced came back after its grace window: two parties hold the session. */
    | { type: 'reuse_detected'; action: 'revoke' | 'report' }
    | { type: 'anomaly'; changed: Array<'user_agent' | 'ip'>; action: 'report' | 'revoke' | 'require-reauth' }
    /** `clock`: the record's times are later than this host's clock by more than `maxClockSkew`. */
    | { type: 'expired'; reason: 'idle' | 'absolute' | 'clock' }
    | { type: 'destroyed'; reason: 'sign_out' | 'destroy' }
    | {
        type: 'revoked';
        /** `user`: one session ended by its owner; `admin`: by `engine.revokeUser`. */
        reason: 'user' | 'admin' | 'session_limit' | 'sign_out_others' | 'sign_out_everywhere' | 'token_reuse' | 'anomaly';
        count: number;
      }
    /** A cookie that is not one tessera issued (or one signed by a retired key). */
    | { type: 'invalid_token'; reason: InvalidTokenReason }
    /**
     * A cookie tessera issued, for a session that has ended: expired and purged, signed out or
     * revoked elsewhere. Routine (a browser coming back after a while), not an attack.
     */
    | { type: 'stale_cookie' }
    /**
     * A stored record that cannot be trusted as a session: removed, and no session. `undecodable`
     * (corrupt), `invalid_fields` (fields of the wrong kind), and with `encryptData`:
     * `unsealed` (plain data where sealed data belongs) or `bad_seal` (an edited field, data
     * moved from another session, a retired key, damage).
     */
    | { type: 'invalid_record'; reason: 'undecodable' | 'invalid_fields' | 'unsealed' | 'bad_seal' }
    /**
     * Sent once per engine when the setup looks wrong: a `Secure` cookie asked for on a request
     * that came over plain HTTP from another host (`secure_cookie_over_http`: the browser would
     * drop it, so nobody keeps a session), or `X-Forwarded-Proto: https` from a proxy the app does
     * not trust (`untrusted_forwarded_proto`: set Express's `trust proxy`, or `proxy: true`).
     * Also sent, each time, when `userIdFrom` found a user in a stored session whose response
     * headers had already gone out (`user_after_headers`: a streamed response): the new token
     * a sign-in needs could not reach the client, so the session stays anonymous to tessera.
     */
    | { type: 'setup_warning'; reason: 'secure_cookie_over_http' | 'untrusted_forwarded_proto' | 'user_after_headers' }
    | {
        type: 'store_error';
        /** The store method that failed: `get`, `set`, `touch`, `delete`, ... */
        operation: string;
        /** The `TesseraError` code the app sees. */
        errorCode: string;
        /** The class name of the store's own error (`Error`, `ConnectionRefusedError`, ...), if any. */
        causeName?: string;
        /** The store's own message, with anything that looks like a credential removed. */
        causeMessage?: string;
      }
  );

/** The `type` of every event. */
export type SessionEventType = SessionEvent['type'];

/** Receives events. Exceptions it throws are caught and ignored, so logging can never break a request. */
export type EventListener = (event: SessionEvent) => void;

/** The fields of one event type beyond {@link EventBase}. */
export type EventFields<T extends SessionEventType> = Omit<Extract<SessionEvent, { type: T }>, keyof EventBase | 'type'>;

/** Emit one event. Internal: apps cannot reach an emitter, so they cannot forge audit events. */
export type Emit = <T extends SessionEventType>(
  type: T,
  request: RequestInfo | undefined,
  sessionRef: string | null,
  userId: string | null,
  ...fields: keyof EventFields<T> extends never ? [] : [EventFields<T>]
) => void;

/** An emitter that stamps events with the clock and the request, and never throws. */
export function createEmitter(listener: EventListener | undefined, now: () => number): Emit {
  if (listener === undefined) return () => {};
  return (type, request, sessionRef, userId, ...fields) => {
    const event = {
      type,
      time: now(),
      sessionRef,
      userId,
      ip: request?.ip,
      userAgent: request?.userAgent,
      method: request?.method,
      path: request?.path,
      ...fields[0],
    } as SessionEvent;
    try {
      listener(event);
    } catch {
      // An audit listener must never break a request.
    }
  };
}
