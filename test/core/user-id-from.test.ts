/**
 * `userIdFrom` in the core: the user an application keeps in the session data becomes the
 * session's user at the next save, with a new token when the session was stored before.
 */
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';

const SECRET = 'user-id-from-test-secret-0123456789abcdefghij';
const T0 = Date.UTC(2026, 5, 1);

function setup() {
  const events: SessionEvent[] = [];
  const store = new MemoryStore({ now: () => T0 });
  const engine = createSessions({
    secret: SECRET,
    store,
    now: () => T0,
    cookie: { secure: false },
    onEvent: (event) => void events.push(event),
    userIdFrom: (data) => (data['login'] as { user?: unknown } | undefined)?.user,
  });
  return { engine, store, events };
}

/** The `name=value` of the session cookie a response sets, or undefined. */
function cookieOf(headers: ReadonlyArray<[string, string]>): string | undefined {
  return headers.find(([name]) => name.toLowerCase() === 'set-cookie')?.[1].split(';')[0];
}

describe('userIdFrom', () => {
  it('takes a finite number as a user id (passport often serializes numeric ids)', async () => {
    const { engine } = setup();
    const rs = await engine.load({ cookie: undefined, secure: false });
    rs.data.set('login', { user: 7 });
    await rs.save();
    expect(rs.userId).toBe('7');
    expect(rs.authenticatedAt).toBe(T0);
    expect((await engine.listUserSessions('7')).map((s) => s.id)).toEqual([rs.id]);
  });

  it('counts values that are not user ids as no user', async () => {
    const { engine } = setup();
    for (const user of ['', 'x'.repeat(257), Number.NaN, { id: 1 }, true]) {
      const rs = await engine.load({ cookie: undefined, secure: false });
      rs.data.set('login', { user });
      await rs.save();
      expect(rs.userId, String(user)).toBeNull();
    }
  });

  it('a user appearing in a stored session gives it a new id and token, keeping its data', async () => {
    const { engine, events } = setup();
    const first = await engine.load({ cookie: undefined, secure: false });
    first.data.set('cart', ['plum']);
    await first.save();
    const oldCookie = cookieOf(first.responseHeaders());
    const second = await engine.load({ cookie: oldCookie, secure: false });
    second.data.set('login', { user: 'alice' });
    await second.save();
    expect(second.id).not.toBe(first.id);
    expect(second.userId).toBe('alice');
    const newCookie = cookieOf(second.responseHeaders());
    expect(newCookie).toBeDefined();
    expect((await engine.load({ cookie: oldCookie, secure: false })).isNew).toBe(true);
    const third = await engine.load({ cookie: newCookie, secure: false });
    expect(third.data.get('cart')).toEqual(['plum']);
    expect(third.userId).toBe('alice');
    expect(events.map((e) => e.type)).toContain('regenerated');
  });

  it('after the headers went out (a streamed response), saves the data and leaves the user unset, with a setup_warning', async () => {
    const { engine, events } = setup();
    const first = await engine.load({ cookie: undefined, secure: false });
    first.data.set('n', 1);
    await first.save();
    const cookie = cookieOf(first.responseHeaders());
    const streamed = await engine.load({ cookie, secure: false });
    streamed.responseHeaders(true); // the headers leave before the save
    streamed.data.set('login', { user: 'alice' });
    await streamed.save();
    expect(streamed.userId).toBeNull();
    expect(events.filter((e) => e.type === 'setup_warning').map((e) => (e as { reason: string }).reason)).toEqual(['user_after_headers']);
    const again = await engine.load({ cookie, secure: false });
    expect(again.data.get('login')).toEqual({ user: 'alice' });
    expect(again.id).toBe(first.id);
  });

  it('a user disappearing from the data leaves the session anonymous and out of the index', async () => {
    const { engine } = setup();
    const rs = await engine.load({ cookie: undefined, secure: false });
    rs.data.set('login', { user: 'alice' });
    await rs.save();
    const cookie = cookieOf(rs.responseHeaders());
    const next = await engine.load({ cookie, secure: false });
    next.data.delete('login');
    await next.save();
    expect(next.userId).toBeNull();
    expect(next.authenticatedAt).toBeNull();
    expect(await engine.listUserSessions('alice')).toEqual([]);
  });
});
