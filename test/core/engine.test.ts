import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { isTesseraError } from '../../src/core/errors.js';
import type { InvalidTokenReason, SessionEvent } from '../../src/core/events.js';
import type { SessionOptions } from '../../src/core/options.js';
import { MemoryStore } from '../../src/store/memory.js';
import { HOUR, MINUTE, frozenClock } from '../helpers/clock.js';
import { RecordingStore } from '../helpers/recording-store.js';

const SECRET = 'engine-test-secret-0123456789-abcdefghijk';

function options(overrides: Partial<SessionOptions> = {}): SessionOptions {
  return { secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }), ...overrides };
}

function constructionError(opts: SessionOptions): unknown {
  try {
    createSessions(opts);
  } catch (error) {
    return error;
  }
  return undefined;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createSessions', () => {
  it('starts with the documented defaults: 30 min idle, 12 h absolute, 1 min touch interval, __Host-sid', () => {
    const engine = createSessions(options());

    expect(engine.options.idleTimeout).toBe(30 * MINUTE);
    expect(engine.options.absoluteTimeout).toBe(12 * HOUR);
    expect(engine.options.touchInterval).toBe(MINUTE);
    expect(engine.options.cookie).toMatchObject({ name: '__Host-sid', secure: true, sameSite: 'lax', path: '/' });
  });

  it('defaults the touch interval to a quarter of a short idle timeout', () => {
    expect(createSessions(options({ idleTimeout: 2 * MINUTE })).options.touchInterval).toBe(30_000);
  });

  it('refuses a weak first secret (short, or repetitive) under NODE_ENV=production with INVALID_OPTION', () => {
    vi.stubEnv('NODE_ENV', 'production');
    for (const secret of ['keyboard cat', 'x'.repeat(31), 'a'.repeat(64), ['short', SECRET]]) {
      const error = constructionError(options({ secret }));
      expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toContain('randomBytes(32)');
    }
  });

  it('accepts a weak first secret outside production, with one warning that says what to do', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    const warnings: Array<[string, string | undefined]> = [];
    const listener = (warning: Error & { code?: string }): void => void warnings.push([warning.message, warning.code]);
    process.on('warning', listener);
    try {
      expect(() => createSessions(options({ secret: 'keyboard cat' }))).not.toThrow();
      expect(() => createSessions(options({ secret: SECRET }))).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', listener);
    }
    const weak = warnings.filter(([, code]) => code === 'TESSERA_WEAK_SECRET');
    expect(weak).toHaveLength(1);
    expect(weak[0]![0]).toContain('randomBytes(32)');
  });

  it('refuses a weak first secret with encryptData, whose key would be derived from it, in any environment', () => {
    vi.stubEnv('NODE_ENV', 'development');
    expect(isTesseraError(constructionError(options({ secret: 'keyboard cat', encryptData: true })), 'INVALID_OPTION')).toBe(true);
  });

  it('accepts a short secret after a long one (kept to verify express-session cookies)', () => {
    expect(() => createSessions(options({ secret: [SECRET, 'keyboard cat'] }))).not.toThrow();
  });

  it('refuses an insecure cookie under NODE_ENV=production unless allowInsecureCookie is set', () => {
    vi.stubEnv('NODE_ENV', 'production');

    expect(isTesseraError(constructionError(options({ cookie: { secure: false } })), 'INVALID_OPTION')).toBe(true);
    expect(() => createSessions(options({ cookie: { secure: false }, allowInsecureCookie: true }))).not.toThrow();
    expect(() => createSessions(options({ cookie: { secure: true } }))).not.toThrow();
  });

  it('allows an insecure cookie outside production', () => {
    vi.stubEnv('NODE_ENV', 'development');

    expect(() => createSessions(options({ cookie: { secure: false } }))).not.toThrow();
  });

  it('refuses a touch interval that is not smaller than the idle timeout', () => {
    for (const touchInterval of [30 * MINUTE, 31 * MINUTE]) {
      expect(isTesseraError(constructionError(options({ touchInterval })), 'INVALID_OPTION')).toBe(true);
    }
    expect(
      isTesseraError(constructionError(options({ idleTimeout: 5 * MINUTE, touchInterval: 5 * MINUTE })), 'INVALID_OPTION'),
    ).toBe(true);
    expect(() => createSessions(options({ touchInterval: 30 * MINUTE - 1 }))).not.toThrow();
    expect(() => createSessions(options({ touchInterval: 0 }))).not.toThrow();
  });

  it.each<[string, Partial<SessionOptions>]>([
    ['a missing store', { store: undefined as never }],
    ['a store without the Store methods', { store: {} as never }],
    ['a zero idle timeout', { idleTimeout: 0 }],
    ['a negative absolute timeout', { absoluteTimeout: -1 }],
    ['a non-finite idle timeout', { idleTimeout: Infinity }],
    ['a negative touch interval', { touchInterval: -1 }],
    ['a session limit below 1', { maxSessionsPerUser: 0 }],
    ['an unknown session limit policy', { sessionLimitPolicy: 'drop' as never }],
    ['a negative retry bound', { maxWriteRetries: -1 }],
    ['a clock that is not a function', { now: 5 as never }],
    ['an unsafe cookie', { cookie: { name: '__Host-sid', domain: 'example.com' } }],
  ])('refuses %s with INVALID_OPTION', (_label, overrides) => {
    expect(isTesseraError(constructionError(options(overrides)), 'INVALID_OPTION')).toBe(true);
  });
});

describe('engine.load with a bad cookie', () => {
  const NAME = '__Host-sid';

  async function signedValue(engine: ReturnType<typeof createSessions>): Promise<string> {
    const rs = await engine.load({ cookie: undefined, secure: true });
    rs.data.set('a', 1);
    await rs.save();
    const header = rs.responseHeaders().find(([name]) => name === 'Set-Cookie');
    return header![1].split(';')[0]!.slice(NAME.length + 1);
  }

  function setup() {
    const clock = frozenClock();
    const store = new RecordingStore(new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }));
    const events: SessionEvent[] = [];
    const engine = createSessions({ secret: SECRET, store, now: clock.now, onEvent: (event) => events.push(event) });
    return { engine, store, events };
  }

  it('loads the session of a valid cookie', async () => {
    const { engine } = setup();
    const value = await signedValue(engine);

    const rs = await engine.load({ cookie: `${NAME}=${value}`, secure: true });

    expect(rs.isNew).toBe(false);
    expect(rs.data.get('a')).toBe(1);
  });

  it.each<[string, (value: string) => string, InvalidTokenReason]>([
    ['a duplicated cookie', (v) => `${NAME}=${v}; ${NAME}=${v}`, 'duplicate'],
    ['an oversized header', (v) => `${NAME}=${v}; pad=${'x'.repeat(17_000)}`, 'oversized'],
    ['a malformed value', () => `${NAME}=garbage`, 'malformed'],
    ['a broken percent-encoding', () => `${NAME}=%E0%A4%A`, 'malformed'],
    ['an unknown key id', (v) => `${NAME}=${v.replace(/\.[^.]+\.([^.]+)$/, '.nokey.$1')}`, 'unknown_key'],
    ['a bad signature', (v) => `${NAME}=${v.slice(0, -1)}${v.endsWith('A') ? 'B' : 'A'}`, 'bad_signature'],
  ])('gives no session for %s, emits invalid_token, and never asks the store', async (_label, cookieOf, reason) => {
    const { engine, store, events } = setup();
    const value = await signedValue(engine);
    store.reset();
    events.length = 0;

    const rs = await engine.load({ cookie: cookieOf(value), secure: true });

    expect(rs.isNew).toBe(true);
    expect(rs.data.size).toBe(0);
    expect(store.calls).toEqual([]);
    expect(events).toEqual([expect.objectContaining({ type: 'invalid_token', reason, sessionRef: null })]);
    const cleared = rs.responseHeaders().find(([name]) => name === 'Set-Cookie');
    if (reason === 'duplicate') {
      // Never the app's own cookie on a duplicate: that would leave the planted copy alone.
      expect(cleared).toBeUndefined();
    } else {
      expect(cleared?.[1]).toMatch(/^__Host-sid=;.*Max-Age=0/);
    }
  });

  it('gives no session for a cookie it issued whose session is gone, after one store read, and says so (stale_cookie)', async () => {
    const { engine, store, events } = setup();
    const other = createSessions({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }) });
    const foreign = await signedValue(other);
    store.reset();

    const rs = await engine.load({ cookie: `${NAME}=${foreign}`, secure: true });

    expect(rs.isNew).toBe(true);
    expect(store.calls.map((call) => call.op)).toEqual(['get']);
    expect(events.at(-1)).toMatchObject({ type: 'stale_cookie' });
    expect(events.some((event) => event.type === 'invalid_token')).toBe(false);
  });
});

describe('store errors as the app sees them', () => {
  it("keep the driver's message but never a credential in it", async () => {
    const { storeUnavailable } = await import('../../src/core/errors.js');
    const error = storeUnavailable(new Error('connect to postgres://app:hunter2@db.internal:5432/prod failed; password=hunter2 auth: s3cr3t'));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.status).toBe(503);
    expect(error.expose).toBe(false);
    expect(error.message).toContain('postgres://***@db.internal:5432/prod');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('s3cr3t');
    expect(error.cause).toBeInstanceOf(Error);
  });
});
