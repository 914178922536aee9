import expressSession from 'express-session';
import { describe, it } from 'vitest';
import { MemoryStore as ExpressStyleMemoryStore } from '../../src/adapters/express/store.js';
import { LegacyStore, type ExpressSessionStore } from '../../src/store/legacy.js';
import { runStoreConformance } from '../../src/testing/index.js';

// The legacy adapter on in-process express-session stores, on the fake clock, so that the
// expiry boundary is checked to the millisecond (server-backed connect-* stores run the suite
// on the real clock: see legacy-connect-redis and legacy-connect-pg).
runStoreConformance(
  'LegacyStore over session.MemoryStore',
  ({ now }) => ({ store: new LegacyStore(new ExpressStyleMemoryStore({ now }), { now }) }),
  { framework: { describe, it } },
);

runStoreConformance(
  'LegacyStore over express-session MemoryStore',
  ({ now }) => ({
    store: new LegacyStore(new expressSession.MemoryStore() as unknown as ExpressSessionStore, { now }),
  }),
  { framework: { describe, it } },
);
