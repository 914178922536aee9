/**
 * tessera: secure-by-default server-side sessions.
 *
 * `createSessions()` builds the framework-free engine; adapters (`tessera/express`) wrap it.
 * What this module exports is what an app may use: no name here leads to the store gateway,
 * the event emitter or the cookie signer.
 * @module
 */
export { createSessions, Engine } from './core/engine.js';
export type { RequestInfo, LegacySource, EngineExtensions, EngineSettings, EndReason, SessionStatus, StatusResponse } from './core/engine.js';
export { RequestSession } from './core/request-session.js';
export type { ResponseHeaders } from './core/headers.js';
export type { SessionInfo } from './core/users.js';
export { SessionHandle } from './core/handle.js';
export type { SessionData, DataChanges } from './core/handle.js';
export type { SessionOptions, AnomalyOptions } from './core/options.js';
export type { CookieOptions, CookieScope } from './core/cookie.js';
export { MIN_SECRET_BYTES } from './core/keyring.js';
export type { SecretInput, KeyDefinition } from './core/keyring.js';
export { TesseraError, isTesseraError, ERROR_STATUS } from './core/errors.js';
export type { TesseraErrorCode } from './core/errors.js';
export type { SessionEvent, SessionEventType, EventListener, InvalidTokenReason, EventBase } from './core/events.js';
export type {
  Store,
  SessionRecord,
  SessionMeta,
  SetOptions,
  DeleteByUserOptions,
  UserSessionEntry,
  TokenState,
  DataDelta,
} from './store/types.js';
