/**
 * Which writes go to the store as deltas (one round trip, no version check) and which keep
 * compare-and-set. Engine level, on the memory store; every store's `applyDelta` is checked by
 * the conformance suite, and concurrent requests over HTTP by test/lifecycle/concurrency.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createSessions, type Engine } from '../../src/core/engine.js';
import type { SessionOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { DataDelta, Store } from '../../src/store/types.js';
import { MINUTE, frozenClock } from '../helpers/clock.js';
import { RecordingStore } from '../helpers/recording-store.js';

const SECRET = 'delta-writes-test-secret-0123456789-abcdef';

interface Setup {
  engine: Engine;
  store: RecordingStore;
  inner: MemoryStore;
  clock: ReturnType<typeof frozenClock>;
}

function setup(options: Partial<SessionOptions> = {}, wrap: (store: MemoryStore) => Store = (s) => s): Setup {
  const clock = frozenClock();
  const inner = new MemoryStore({ sweepIntervalMs: 0, now: clock.now });
  const store = new RecordingStore(wrap(inner), { deltas: true });
  const engine = createSessions({ secret: SECRET, store, now: clock.now, ...options });
  return { engine, store, inner, clock };
}

/** Start a session holding `data`; returns its cookie. */
async function started({ engine, store }: Setup, data: Record<string, unknown>): Promise<string> {
  const session = await engine.load({ cookie: undefined, secure: true });
  for (const [key, value] of Object.entries(data)) session.data.set(key, value);
  await session.save();
  store.reset();
  const line = session.responseHeaders().find(([name]) => name === 'Set-Cookie')![1];
  return line.split(';')[0]!;
}

const request = (cookie: string) => ({ cookie, secure: true });

describe('delta writes', () => {
  it('sends a plain change as one applyDelta with only the changed keys, and no whole-record write', async () => {
    const s = setup();
    const cookie = await started(s, { user: 'ann', cart: ['a'], theme: 'dark' });
    const session = await s.engine.load(request(cookie));
    session.data.get<string[]>('cart')!.push('b');
    session.data.delete('theme');
    session.data.set('views', 1);
    await session.save();

    expect(s.store.calls.map((call) => call.op)).toEqual(['get', 'applyDelta']);
    const call = s.store.calls[1] as { delta: DataDelta; result: unknown };
    expect(call.delta.set).toEqual({ cart: ['a', 'b'], views: 1 });
    expect(call.delta.remove).toEqual(['theme']);
    expect(call.result).toBe(2);
    expect((await s.inner.get(session.id))?.data).toEqual({ user: 'ann', cart: ['a', 'b'], views: 1 });
  });

  it('keeps both of two overlapping requests that change different keys, each in one write', async () => {
    const s = setup();
    const cookie = await started(s, { n: 0 });
    const [first, second] = await Promise.all([s.engine.load(request(cookie)), s.engine.load(request(cookie))]);
    first.data.set('a', 1);
    second.data.set('b', 2);
    await Promise.all([first.save(), second.save()]);

    expect(s.store.count('set')).toBe(0);
    expect(s.store.count('applyDelta')).toBe(2);
    expect((await s.inner.get(first.id))?.data).toEqual({ n: 0, a: 1, b: 2 });
  });

  it('moves the idle deadline with the delta, so a write needs no separate touch', async () => {
    const s = setup({ idleTimeout: 30 * MINUTE });
    const cookie = await started(s, { n: 0 });
    s.clock.advance(10 * MINUTE);
    const session = await s.engine.load(request(cookie));
    session.data.set('n', 1);
    await session.save();

    expect(s.store.count('touch', 'set')).toBe(0);
    const stored = await s.inner.get(session.id);
    expect(stored?.lastSeenAt).toBe(s.clock.now());
    expect(stored?.expiresAt).toBeGreaterThanOrEqual(s.clock.now() + 30 * MINUTE);
  });

  it('keeps compare-and-set for update(key, fn), which must see the current value', async () => {
    const s = setup();
    const cookie = await started(s, { count: 0 });
    const sessions = await Promise.all(Array.from({ length: 5 }, () => s.engine.load(request(cookie))));
    for (const session of sessions) session.data.update('count', (n: number | undefined) => (n ?? 0) + 1);
    await Promise.all(sessions.map((session) => session.save()));

    expect(s.store.count('applyDelta')).toBe(0);
    expect((await s.inner.get(sessions[0]!.id))?.data).toEqual({ count: 5 });
  });

  it('keeps compare-and-set for a sign-in, and for data sealed with encryptData', async () => {
    const s = setup();
    const cookie = await started(s, { cart: ['a'] });
    const session = await s.engine.load(request(cookie));
    await session.signIn('ann');
    session.data.set('greeting', 'hi');
    await session.save();
    expect(s.store.count('applyDelta')).toBe(0);

    const sealed = setup({ encryptData: true });
    const sealedCookie = await started(sealed, { n: 0 });
    const again = await sealed.engine.load(request(sealedCookie));
    again.data.set('n', 1);
    await again.save();
    expect(sealed.store.count('applyDelta')).toBe(0);
    expect(sealed.store.count('set')).toBe(1);
  });

  it('never brings back a session deleted between load and save (signed out in another tab)', async () => {
    const s = setup();
    const cookie = await started(s, { n: 0 });
    const session = await s.engine.load(request(cookie));
    const other = await s.engine.load(request(cookie));
    await other.signOut();
    session.data.set('n', 1);
    await session.save();

    expect(s.store.calls.find((call) => call.op === 'applyDelta')).toMatchObject({ result: null });
    expect(s.store.count('set')).toBe(0);
    expect(await s.inner.get(session.id)).toBeNull();
    const cleared = session.responseHeaders().find(([name]) => name === 'Set-Cookie')?.[1];
    expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
  });

  it("falls back to compare-and-set when the store answers 'unsupported'", async () => {
    const s = setup({}, (inner) => ({
      get: (key) => inner.get(key),
      set: (key, record, options) => inner.set(key, record, options),
      delete: (key) => inner.delete(key),
      touch: (key, lastSeenAt, expiresAt) => inner.touch(key, lastSeenAt, expiresAt),
      listByUser: (userId) => inner.listByUser(userId),
      deleteByUser: (userId, options) => inner.deleteByUser(userId, options),
      close: () => inner.close(),
      applyDelta: async () => 'unsupported' as const,
    }));
    const cookie = await started(s, { n: 0 });
    const session = await s.engine.load(request(cookie));
    session.data.set('n', 1);
    await session.save();

    expect(s.store.calls.map((call) => call.op)).toEqual(['get', 'applyDelta', 'set']);
    expect((await s.inner.get(session.id))?.data).toEqual({ n: 1 });
  });

  it('writes the whole record next time after a delta, without a lost compare-and-set round', async () => {
    const s = setup();
    const cookie = await started(s, { count: 0 });
    const first = await s.engine.load(request(cookie));
    first.data.set('a', 1);
    await first.save();
    const second = await s.engine.load(request(cookie));
    second.data.update('count', (n: number | undefined) => (n ?? 0) + 1);
    await second.save();

    const sets = s.store.calls.filter((call) => call.op === 'set');
    expect(sets.map((call) => call.op === 'set' && call.written)).toEqual([true]);
    expect((await s.inner.get(first.id))?.data).toEqual({ count: 1, a: 1 });
  });
});
