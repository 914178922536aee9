/**
 * @fastify/session's store API, for code that extends it or passes its memory store around:
 * `Store` / `MemoryStore` (an EventEmitter over a `Map`, callback style; bounded, unlike
 * @fastify/session's) and `idGenerator`. The plugin reaches any store of this API through
 * `LegacyStore`; passing a tessera store (`tessera/stores/*`) is better for production:
 * compare-and-set, expiry, a per-user index.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ExpressSessionStore, SessionShape } from '../../store/legacy.js';

type Callback<T = void> = (error?: unknown, value?: T) => void;

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** At most this many sessions; the one written longest ago is dropped beyond it. @default 10_000 */
  maxEntries?: number;
}

/** @fastify/session's memory store: sessions in a `Map`, at most `maxEntries`. For development and tests. */
export class MemoryStore extends EventEmitter implements ExpressSessionStore {
  /** The sessions, by id. */
  readonly store: Map<string, SessionShape>;
  readonly #maxEntries: number;

  /** @param map where the sessions are kept. @default a new Map */
  constructor(map: Map<string, SessionShape> = new Map(), options: MemoryStoreOptions = {}) {
    super();
    this.store = map;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  /** Keep `session` under `sessionId` (the most recent entry). */
  set(sessionId: string, session: SessionShape, callback?: Callback): void {
    this.store.delete(sessionId);
    this.store.set(sessionId, session);
    while (this.store.size > this.#maxEntries) this.store.delete(this.store.keys().next().value as string);
    callback?.();
  }

  /** The session under `sessionId` (`undefined` when none). */
  get(sessionId: string, callback: Callback<SessionShape | null>): void {
    callback(null, this.store.get(sessionId));
  }

  /** Forget the session under `sessionId`. */
  destroy(sessionId: string, callback?: Callback): void {
    this.store.delete(sessionId);
    callback?.();
  }
}

/** @fastify/session exports its memory store under both names. */
export const Store = MemoryStore;

/**
 * @fastify/session's id generator factory: each call of the returned function gives 24 random
 * bytes, base64url (32 characters). tessera never uses it: session ids and tokens are made by
 * the core. @param _base64url accepted for compatibility (the output is always base64url).
 */
export function idGenerator(_base64url?: boolean): () => string {
  return () => randomBytes(24).toString('base64url');
}
