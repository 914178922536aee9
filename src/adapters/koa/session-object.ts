/**
 * `ctx.session` of `tessera/koa`: an object shaped like koa-session's session (data as
 * properties, `isNew`, `length`, `populated`, `maxAge`, `save()`, `regenerate()`,
 * `manuallyCommit()`, `toJSON()`), over tessera's {@link RequestSession}. A Proxy: reads and
 * writes of data properties go through the session handle, which tracks what changed, so only
 * changed sessions are written and concurrent requests of one session merge.
 * @module
 */
import type { RequestSession } from '../../core/request-session.js';

/** What a session object needs from its request. */
export interface KoaSessionHost {
  /** The request's session (made on first use). */
  readonly rs: RequestSession;
  /** Commit now (koa-session's `manuallyCommit`): save and put the headers on the response. */
  commitNow(): Promise<void>;
}

/** The methods and fields of `ctx.session`; any other property is session data. */
export interface KoaSessionMethods {
  /** Whether the session is not in the store yet (a visitor's first request, or after `regenerate()`). */
  readonly isNew: boolean;
  /** How many data keys the session holds. */
  readonly length: number;
  /** Whether the session holds any data. */
  readonly populated: boolean;
  /**
   * The cookie's lifetime in ms, or `'session'` for a browser-session cookie (koa-session's
   * names). Setting a number makes the cookie persistent and, as for koa-session, is also how
   * long the session lasts unused (its idle timeout, at most 400 days).
   */
  maxAge: number | 'session';
  /** Write the session on this response even if nothing changed. */
  save(): void;
  /** Commit now rather than after the middleware chain (koa-session's `autoCommit: false`). */
  manuallyCommit(): Promise<void>;
  /** End the session and go on with a new, empty one under a new id (session fixation defence). */
  regenerate(): Promise<void>;
  /** The session data, as a plain object. */
  toJSON(): Record<string, unknown>;
}

/** `ctx.session`: data properties plus {@link KoaSessionMethods}. */
export type KoaSessionObject = KoaSessionMethods & Record<string, unknown>;

const HOST = Symbol('tessera.koa.host');
type Target = { [HOST]: KoaSessionHost };

const RESERVED = new Set<string | symbol>(['isNew', 'length', 'populated', 'maxAge', 'save', 'manuallyCommit', 'regenerate', 'toJSON', 'inspect', 'then']);

const methods = {
  save(this: Target): void {
    this[HOST].rs.forceWrite();
  },
  manuallyCommit(this: Target): Promise<void> {
    return this[HOST].commitNow();
  },
  async regenerate(this: Target): Promise<void> {
    await this[HOST].rs.regenerate();
  },
  toJSON(this: Target): Record<string, unknown> {
    return this[HOST].rs.data.toJSON();
  },
};

function member(t: Target, prop: string | symbol): unknown {
  const rs = t[HOST].rs;
  switch (prop) {
    case 'isNew':
      return rs.isNew;
    case 'length':
      return rs.data.size;
    case 'populated':
      return rs.data.size > 0;
    case 'maxAge':
      return rs.cookieMaxAge ?? 'session';
    case 'save':
    case 'manuallyCommit':
    case 'regenerate':
    case 'toJSON':
      return (methods[prop] as (this: Target) => unknown).bind(t);
    default:
      return undefined;
  }
}

function setMaxAge(rs: RequestSession, value: unknown): void {
  if (value === 'session' || value === null || value === undefined) {
    rs.cookieMaxAge = null;
    rs.idleTimeoutOverride = undefined;
    return;
  }
  rs.cookieMaxAge = Number(value);
  rs.idleTimeoutOverride = Number(value);
}

const handler: ProxyHandler<Target> = {
  get(t, prop) {
    if (RESERVED.has(prop)) return member(t, prop);
    if (typeof prop !== 'string') return undefined;
    return t[HOST].rs.data.get(prop);
  },
  set(t, prop, value) {
    if (prop === 'maxAge') setMaxAge(t[HOST].rs, value);
    else if (typeof prop === 'string' && !RESERVED.has(prop)) t[HOST].rs.data.set(prop, value);
    return true;
  },
  deleteProperty(t, prop) {
    if (typeof prop === 'string' && !RESERVED.has(prop)) t[HOST].rs.data.delete(prop);
    return true;
  },
  has(t, prop) {
    return RESERVED.has(prop) || (typeof prop === 'string' && t[HOST].rs.data.has(prop));
  },
  ownKeys(t) {
    return t[HOST].rs.data.keys();
  },
  getOwnPropertyDescriptor(t, prop) {
    if (typeof prop !== 'string' || RESERVED.has(prop) || !t[HOST].rs.data.has(prop)) return undefined;
    return { value: t[HOST].rs.data.get(prop), writable: true, enumerable: true, configurable: true };
  },
  defineProperty(t, prop, descriptor) {
    if (typeof prop === 'string' && !RESERVED.has(prop) && 'value' in descriptor) t[HOST].rs.data.set(prop, descriptor.value);
    return true;
  },
};

/** Create `ctx.session` for a request. */
export function createKoaSession(host: KoaSessionHost): KoaSessionObject {
  const target = Object.create(null) as Target;
  Object.defineProperty(target, HOST, { value: host, configurable: true });
  return new Proxy(target, handler) as unknown as KoaSessionObject;
}
