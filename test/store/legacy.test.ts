import expressSession from 'express-session';
import { describe, expect, it } from 'vitest';
import { MemoryStore as ExpressStyleMemoryStore } from '../../src/adapters/express/store.js';
import { createSessions } from '../../src/core/engine.js';
import { LegacyStore, type ExpressSessionStore } from '../../src/store/legacy.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { LEGACY_STORE_SKIPS } from '../helpers/legacy-skips.js';

// The legacy adapter on in-process express-session stores, on the fake clock, so that the
// expiry boundary is checked to the millisecond (server-backed connect-* stores run the suite
// on the real clock: see legacy-connect-redis and legacy-connect-pg).
runStoreConformance(
  'LegacyStore over session.MemoryStore',
  ({ now }) => ({ store: new LegacyStore(new ExpressStyleMemoryStore({ now }), { now }) }),
  { framework: { describe, it }, skip: LEGACY_STORE_SKIPS },
);

runStoreConformance(
  'LegacyStore over express-session MemoryStore',
  ({ now }) => ({
    store: new LegacyStore(new expressSession.MemoryStore() as unknown as ExpressSessionStore, { now }),
  }),
  { framework: { describe, it }, skip: LEGACY_STORE_SKIPS },
);

describe('how long past the deadline a store keeps a record (Store.expiryGraceMs)', () => {
  const SECRET = 'legacy-grace-test-secret-0123456789abcdefghij';
  // express-session's MemoryStore checks expiry on the real clock.
  const T0 = Date.now();
  const IDLE = 30 * 60_000;

  async function createOne(store: LegacyStore | MemoryStore): Promise<{ engine: ReturnType<typeof createSessions>; ref: string }> {
    const engine = createSessions({ secret: SECRET, store, now: () => T0, idleTimeout: IDLE, cookie: { secure: false } });
    const rs = await engine.load({ cookie: undefined, secure: false });
    rs.data.set('n', 1);
    await rs.save();
    return { engine, ref: rs.id };
  }

  it('an express-session store holds cookie.expires = the session deadline, as express-session writes it (no grace)', async () => {
    const wrapped = new expressSession.MemoryStore();
    const store = new LegacyStore(wrapped as unknown as ExpressSessionStore, { now: () => T0 });
    expect(store.expiryGraceMs).toBe(0);
    const { engine, ref } = await createOne(store);
    const entry = await new Promise<expressSession.SessionData | null | undefined>((resolve, reject) =>
      wrapped.get(ref, (error, session) => (error ? reject(error as Error) : resolve(session))),
    );
    expect(new Date(entry!.cookie.expires!).getTime()).toBe(T0 + IDLE);
    expect((await store.get(ref))?.expiresAt).toBe(T0 + IDLE);
    await engine.close();
  });

  it('a native store keeps the record 60 s past the deadline, so the engine reports which clock ended it', async () => {
    const store = new MemoryStore({ now: () => T0 });
    expect((store as Store).expiryGraceMs).toBeUndefined();
    const { engine, ref } = await createOne(store);
    expect((await store.get(ref))?.expiresAt).toBe(T0 + IDLE + 60_000);
    await engine.close();
  });
});
