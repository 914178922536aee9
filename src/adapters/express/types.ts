/**
 * The type of `req.session` under `tessera/express`: express-session's own (`@types/express-session`,
 * a dependency of tessera, so an app's `declare module 'express-session' { interface SessionData
 * { ... } }` keeps typing its data), with tessera's methods added to express-session's `Session`.
 *
 * Types only: nothing here exists at run time.
 * @module
 */
import type {} from 'express-session';
import type { SessionMethods } from './session-object.js';

/**
 * The methods `tessera/express` adds to express-session's `req.session`: those of
 * {@link SessionMethods} that express-session's `Session` does not have.
 */
export type TesseraSessionMethods = Pick<
  SessionMethods,
  'signIn' | 'signOut' | 'listSessions' | 'revokeSession' | 'signOutOthers' | 'signOutEverywhere' | 'requireFresh'
>;

declare module 'express-session' {
  // Merges into express-session's `class Session`: `req.session` is `Session & Partial<SessionData>`.
  interface Session extends TesseraSessionMethods {
    /** Replace the session with a new, empty one under a new id; `req.session` is the new one. */
    regenerate(): Promise<void>;
    /** Delete the session and clear the cookie; `req.session` is removed. */
    destroy(): Promise<void>;
    /** Load the session again from the store, dropping unsaved changes. */
    reload(): Promise<void>;
    /** Write the session now; the end of the request then writes only what changed after. */
    save(): Promise<void>;
  }
}
