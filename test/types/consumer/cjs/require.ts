// A CommonJS app (compiled only as CommonJS, under node16 and node10): as with express-session,
// `require('tessera/express')` is the session function itself, with the statics on it, and the
// declarations say so (no `default` that is not there at run time).
import session = require('tessera/express');
import type { ExpressSessionOptions, SessionMiddleware } from 'tessera/express';
import { MemoryStore } from 'tessera/stores/memory';

const options: ExpressSessionOptions = { secret: 'a-strong-secret-of-at-least-32-bytes!', store: new MemoryStore() };
export const middleware: SessionMiddleware = session(options);
export const statics: unknown[] = [session.Store, session.MemoryStore, session.Cookie, session.Session, session.requireFresh];
// @ts-expect-error `require('tessera/express').default` is undefined at run time
export const missing: unknown = session.default;
