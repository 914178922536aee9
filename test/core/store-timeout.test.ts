import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { isTesseraError } from '../../src/core/errors.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';

const SECRET = 'store-timeout-test-secret-0123456789-abcdef';

/** A store whose server stopped answering: every call hangs (the real thing is tested per store). */
function hangingStore(): Store {
  const never = () => new Promise<never>(() => undefined);
  return { get: never, set: never, delete: never, touch: never, listByUser: never, deleteByUser: never, close: async () => undefined };
}

async function cookieFor(store: Store): Promise<string> {
  const engine = createSessions({ secret: SECRET, store });
  const session = await engine.load({ cookie: undefined, secure: true });
  session.data.set('n', 1);
  await session.save();
  const setCookie = session.responseHeaders().find(([name]) => name === 'Set-Cookie')![1];
  return setCookie.split(';')[0]!;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('store timeout', () => {
  it('fails a hanging store call with STORE_UNAVAILABLE once storeTimeout has passed, and reports it', async () => {
    const cookie = await cookieFor(new MemoryStore({ sweepIntervalMs: 0 }));
    const events: SessionEvent[] = [];
    vi.useFakeTimers();
    const engine = createSessions({ secret: SECRET, store: hangingStore(), storeTimeout: 1_000, onEvent: (e) => events.push(e) });

    const outcome = engine.load({ cookie, secure: true }).then(
      () => 'loaded',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(events).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);

    const error = await outcome;
    expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect(events.map((e) => e.type === 'store_error' && e.operation)).toEqual(['get']);
  });

  it('defaults to a 1 s deadline and refuses a non-positive one', () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    expect(createSessions({ secret: SECRET, store }).options.storeTimeout).toBe(1_000);
    expect(() => createSessions({ secret: SECRET, store, storeTimeout: 0 })).toThrow(/storeTimeout/);
  });
});
