/**
 * Tokens and the key ring: a token signed by a key that moved down the ring still works (and
 * what it is exchanged for is signed by the new first key); once its key leaves the ring, it
 * is refused. Token options are checked at construction.
 */
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import { createTokens } from '../../src/tokens/index.js';
import { frozenClock, MINUTE } from '../helpers/clock.js';

const OLD = { id: 'old', secret: 'tessera-old-secret-0123456789-abcdefghijkl' };
const NEW = { id: 'new', secret: 'tessera-new-secret-9876543210-zyxwvutsrqpo' };

describe('tokens across a key rotation', () => {
  const clock = frozenClock();
  const store = new MemoryStore({ now: clock.now, sweepIntervalMs: 0 });
  const tokensWith = (secret: typeof OLD | Array<typeof OLD>) => createTokens(createSessions({ secret, store, now: clock.now }));

  it('accepts tokens of a key that is no longer first, and signs what it hands out with the first', async () => {
    const pair = await tokensWith(OLD).issue('kim');
    const rotated = tokensWith([NEW, OLD]);
    expect(await rotated.verifyAccess(pair.accessToken)).toMatchObject({ userId: 'kim' });
    const refreshed = await rotated.refresh(pair.refreshToken);
    expect(refreshed.ok).toBe(true);
    if (!refreshed.ok) return;
    expect(refreshed.pair.refreshToken.split('.')[3]).toBe('new');
    expect(refreshed.pair.accessToken.split('.')[4]).toBe('new');
    expect(await rotated.verifyAccess(refreshed.pair.accessToken)).toMatchObject({ userId: 'kim' });
  });

  it('refuses tokens of a key removed from the ring', async () => {
    const pair = await tokensWith(OLD).issue('lee');
    const retired = tokensWith([NEW]);
    expect(await retired.verifyAccess(pair.accessToken)).toBeNull();
    expect(await retired.refresh(pair.refreshToken)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('never takes a session cookie value or a refresh token for an access token, or the reverse', async () => {
    const tokens = tokensWith(OLD);
    const pair = await tokens.issue('max');
    expect(await tokens.verifyAccess(pair.refreshToken)).toBeNull();
    expect(await tokens.refresh(pair.accessToken)).toEqual({ ok: false, reason: 'invalid' });
    for (const junk of [undefined, null, 42, {}, [], 'ta1', 'tr1.....']) {
      expect(await tokens.verifyAccess(junk)).toBeNull();
      expect(await tokens.refresh(junk)).toEqual({ ok: false, reason: 'invalid' });
    }
  });

  it('refuses an access token the moment its lifetime is over', async () => {
    const tokens = createTokens(createSessions({ secret: OLD, store, now: clock.now }), { accessLifetime: 5 * MINUTE });
    const pair = await tokens.issue('ned');
    clock.advance(5 * MINUTE - 1);
    expect(await tokens.verifyAccess(pair.accessToken)).not.toBeNull();
    clock.advance(1);
    expect(await tokens.verifyAccess(pair.accessToken)).toBeNull();
  });

  it('counts a family against maxSessionsPerUser: the oldest goes, or the issue is refused', async () => {
    const evicting = createTokens(createSessions({ secret: OLD, store, now: clock.now, maxSessionsPerUser: 1 }));
    const first = await evicting.issue('ola');
    clock.advance(1);
    const second = await evicting.issue('ola');
    expect(await evicting.verifyAccess(first.accessToken)).toBeNull();
    expect(await evicting.verifyAccess(second.accessToken)).toMatchObject({ userId: 'ola' });
    const rejecting = createTokens(createSessions({ secret: OLD, store, now: clock.now, maxSessionsPerUser: 1, sessionLimitPolicy: 'reject' }));
    await expect(rejecting.issue('ola')).rejects.toMatchObject({ code: 'SESSION_LIMIT' });
  });

  it('refuses options that cannot be meant', () => {
    const engine = createSessions({ secret: OLD, store, now: clock.now });
    expect(() => createTokens(engine, { accessLifetime: 900 })).toThrow(/accessLifetime must be a number of milliseconds/);
    expect(() => createTokens(engine, { accessLifetime: 40 * 24 * 60 * MINUTE })).toThrow(/shorter than refreshLifetime/);
    expect(() => createTokens(engine, { refreshLifetme: 1 } as never)).toThrow(/did you mean "refreshLifetime"/);
  });
});
