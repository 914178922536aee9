/**
 * Typed session events for audit logs and monitoring. An event never carries the token or the
 * cookie value: the session is named by `sessionRef`, an HMAC of its store key.
 * @module
 */

/** Why a presented cookie gave no session. */
export type InvalidTokenReason =
  | 'malformed'
  | 'duplicate'
  | 'oversized'
  | 'unknown_key'
  | 'bad_signature'
  | 'unknown_session';

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
    | { type: 'regenerated'; previousRef: string }
    | { type: 'rotated'; previousRef: string }
    | { type: 'reuse_detected'; action: 'revoke' | 'report' }
    | { type: 'anomaly'; changed: Array<'user_agent' | 'ip'>; action: 'report' | 'revoke' | 'require-reauth' }
    | { type: 'expired'; reason: 'idle' | 'absolute' }
    | { type: 'destroyed'; reason: 'sign_out' | 'destroy' }
    | {
        type: 'revoked';
        /** `user`: one session ended by its owner; `admin`: by `engine.revokeUser`. */
        reason: 'user' | 'admin' | 'session_limit' | 'sign_out_others' | 'sign_out_everywhere' | 'token_reuse' | 'anomaly';
        count: number;
      }
    | { type: 'invalid_token'; reason: InvalidTokenReason }
    | { type: 'store_error'; operation: string; errorCode: string }
  );

/** The `type` of every event. */
export type SessionEventType = SessionEvent['type'];

/** Receives events. Exceptions it throws are caught and ignored, so logging can never break a request. */
export type EventListener = (event: SessionEvent) => void;
