/**
 * tessera: secure-by-default server-side sessions.
 *
 * `createSessions()` builds the framework-free engine; adapters (`tessera/express`) wrap it.
 * @module
 */
export { createSessions, Engine } from './core/engine.js';
export type { RequestInfo, LegacySource, EngineExtensions } from './core/engine.js';
export { RequestSession } from './core/request-session.js';
export type { SessionInfo, ResponseHeaders } from './core/request-session.js';
export { SessionHandle } from './core/handle.js';
export type { SessionData, DataChanges } from './core/handle.js';
export type { SessionOptions } from './core/options.js';
export type { CookieOptions } from './core/cookie.js';
export { KeyRing, MIN_SECRET_BYTES } from './core/keyring.js';
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
} from './store/types.js';
