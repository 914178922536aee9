/**
 * Moving users from express-session to tessera, in one place: which entries of an
 * express-session store may be migrated, and the source the engine reads them from when a
 * request brings an `s:<sid>.<signature>` cookie. The engine turns such a session into a
 * tessera session on that request (new id and token, same data) and deletes the old entry.
 * @module
 */
import type { LegacySource } from '../../core/engine.js';
import type { SessionData } from '../../core/handle.js';
import { LegacyStore, type ExpressSessionStore, type StoredSession } from '../../store/legacy.js';
import type { Store as TesseraStore } from '../../store/types.js';
import { isTesseraStore } from './options.js';

/** Where sessions live and where old ones come from, for the `store` and `migrateFrom` options. */
export interface StoreSetup {
  /** The store tessera writes to. */
  store: TesseraStore;
  /** Where express-session sessions are read from, if anywhere. */
  legacy: LegacySource | undefined;
}

/**
 * Sort out the stores: an express-session store given as `store` is wrapped (and its old
 * sessions migrate in place); a tessera store is used as is, with `migrateFrom` as the source
 * of old sessions.
 */
export function storeSetup(
  given: TesseraStore | ExpressSessionStore | undefined,
  migrateFrom: ExpressSessionStore | undefined,
  fallback: () => TesseraStore,
  now: (() => number) | undefined,
): StoreSetup {
  const legacyOptions = now ? { now } : {};
  if (given !== undefined && !isTesseraStore(given)) {
    const wrapped = new LegacyStore(given, legacyOptions);
    return { store: wrapped, legacy: legacySource(wrapped, now ?? Date.now) };
  }
  const store = given ?? fallback();
  const source = migrateFrom === undefined ? undefined : legacySource(new LegacyStore(migrateFrom, legacyOptions), now ?? Date.now);
  return { store, legacy: source };
}

/** The engine's source of express-session sessions, over a wrapped store. */
function legacySource(store: LegacyStore, now: () => number): LegacySource {
  return {
    async load(sid) {
      const entry = await store.readRaw(sid);
      if (entry === null || !isMigratable(entry, now())) return null;
      const { cookie: _cookie, ...data } = entry;
      return data as SessionData;
    },
    remove: (sid) => store.destroyRaw(sid),
  };
}

/**
 * Whether an entry is an express-session session worth migrating: not one of tessera's own
 * entries (which share the key space: a signed `s:` cookie naming one must never be "migrated"
 * into someone's session), with the `cookie` express-session always stores, and not expired
 * (a store without a TTL of its own may still hold a session past its expiry).
 */
function isMigratable(entry: StoredSession, now: number): boolean {
  if ('tessera' in entry || 'tesseraUserIndex' in entry) return false;
  if (typeof entry.cookie !== 'object' || entry.cookie === null) return false;
  const expires = entry.cookie.expires;
  return expires === undefined || expires === null || new Date(expires).getTime() > now;
}
