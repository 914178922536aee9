// The status endpoint and the end-reason signal, through the framework-free engine, on a frozen
// clock: a status request is not activity, a keep-alive request is (throttled), and a session
// the server ends tells the next request why.
import { describe, expect, it } from 'vitest';
import { createSessions, type Engine } from '../../src/core/engine.js';
import { readEndReason } from '../../src/core/ended.js';
import type { ResponseHeaders } from '../../src/core/headers.js';
import type { SessionOptions } from '../../src/core/options.js';
import type { SessionStatus } from '../../src/core/status.js';
import { MemoryStore } from '../../src/store/memory.js';
import { HOUR, MINUTE, SECOND, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { RecordingStore } from '../helpers/recording-store.js';

const SECRET = 'status-test-secret-0123456789-abcdefghijk';

interface Setup {
  engine: Engine;
  clock: TestClock;
  store: RecordingStore;
}

function setup(overrides: Partial<SessionOptions> = {}): Setup {
  const clock = frozenClock();
  const store = new RecordingStore(new MemoryStore({ sweepIntervalMs: 0, now: clock.now }));
  return { engine: createSessions({ secret: SECRET, store, now: clock.now, ...overrides }), clock, store };
}

/** The `name=value` pairs a response's Set-Cookie headers set (empty value: cleared). */
function setCookies(headers: ResponseHeaders): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const [name, value] of headers) {
    if (name !== 'Set-Cookie') continue;
    const [pair = ''] = value.split(';');
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return cookies;
}

/** A browser's cookie jar, as far as these tests need one. */
class Browser {
  readonly jar = new Map<string, string>();

  constructor(readonly engine: Engine) {}

  get cookie(): string | undefined {
    return this.jar.size === 0 ? undefined : [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(headers: ResponseHeaders): void {
    for (const [name, value] of setCookies(headers)) {
      if (value === '') this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async signIn(userId = 'alice'): Promise<void> {
    const rs = await this.engine.load({ cookie: this.cookie, secure: true });
    await rs.signIn(userId);
    await rs.save();
    this.take(rs.responseHeaders());
  }

  async status(): Promise<SessionStatus> {
    const answer = await this.engine.status({ cookie: this.cookie, secure: true });
    this.take(answer.headers);
    expect(answer.headers).toContainEqual(['Cache-Control', 'no-store']);
    expect(answer.headers).toContainEqual(['Content-Type', 'application/json; charset=utf-8']);
    expect(JSON.parse(answer.body)).toEqual(answer.json);
    return answer.json;
  }

  async keepAlive(): Promise<SessionStatus> {
    const answer = await this.engine.keepAlive({ cookie: this.cookie, secure: true });
    this.take(answer.headers);
    return answer.json;
  }

  /** A request that runs the app's code on the session, then saves. */
  async visit(run: (rs: Awaited<ReturnType<Engine['load']>>) => Promise<unknown> = async () => {}): Promise<ResponseHeaders> {
    const rs = await this.engine.load({ cookie: this.cookie, secure: true });
    await run(rs);
    await rs.save();
    const headers = rs.responseHeaders();
    this.take(headers);
    return headers;
  }
}

describe('session status', () => {
  it('answers whether a user is signed in, both deadlines and the server clock, without the token', async () => {
    const { engine } = setup();
    const browser = new Browser(engine);
    expect(await browser.status()).toEqual({ signedIn: false, now: T0, idleExpiresAt: null, absoluteExpiresAt: null, endReason: null });

    await browser.signIn();
    const answer = await engine.status({ cookie: browser.cookie, secure: true });
    expect(answer.json).toEqual({ signedIn: true, now: T0, idleExpiresAt: T0 + 30 * MINUTE, absoluteExpiresAt: T0 + 12 * HOUR, endReason: null });
    const token = browser.jar.get('__Host-sid')!;
    expect(answer.body).not.toContain(decodeURIComponent(token).split('.')[1]);
    expect(answer.headers.some(([name]) => name === 'Set-Cookie')).toBe(false);
  });

  it('is not activity: polling it every 5 s for longer than the idle timeout does not keep the session alive', async () => {
    const { engine, clock, store } = setup({ idleTimeout: 20 * SECOND });
    const browser = new Browser(engine);
    await browser.signIn();
    const writesBefore = store.writes().length;
    for (let elapsed = 5 * SECOND; elapsed < 20 * SECOND; elapsed += 5 * SECOND) {
      clock.advance(5 * SECOND);
      expect(await browser.status()).toMatchObject({ signedIn: true, idleExpiresAt: T0 + 20 * SECOND });
    }
    expect(store.writes().length).toBe(writesBefore);

    clock.advance(5 * SECOND);
    expect(await browser.status()).toMatchObject({ signedIn: false, endReason: 'idle' });
    expect(browser.jar.has('__Host-sid')).toBe(false);
    expect(browser.jar.get('__Host-tessera-ended')).toBe('idle');
  });

  it('keep-alive is activity, throttled: it extends the idle deadline at most once per touchInterval', async () => {
    const { engine, clock, store } = setup({ idleTimeout: 20 * SECOND });
    const browser = new Browser(engine);
    await browser.signIn();
    expect(engine.options.touchInterval).toBe(5 * SECOND);
    const touches = (): number => store.count('touch');

    clock.advance(2 * SECOND);
    expect(await browser.keepAlive()).toMatchObject({ signedIn: true, idleExpiresAt: T0 + 20 * SECOND });
    expect(touches()).toBe(0);

    clock.advance(10 * SECOND);
    expect(await browser.keepAlive()).toMatchObject({ signedIn: true, idleExpiresAt: T0 + 32 * SECOND });
    expect(await browser.keepAlive()).toMatchObject({ idleExpiresAt: T0 + 32 * SECOND });
    expect(touches()).toBe(1);

    clock.advance(19 * SECOND);
    expect(await browser.status()).toMatchObject({ signedIn: true });
  });
});

describe('why a session ended', () => {
  it('tells the next request of an idle, then an absolute timeout, in a cookie holding only the reason', async () => {
    const { engine, clock } = setup({ idleTimeout: 20 * MINUTE, absoluteTimeout: HOUR });
    const idle = new Browser(engine);
    await idle.signIn();
    clock.advance(20 * MINUTE);
    const headers = await idle.visit();
    expect(headers).toContainEqual(['Set-Cookie', '__Host-tessera-ended=idle; Path=/; Max-Age=300; SameSite=Lax; Secure']);

    const old = new Browser(engine);
    await old.signIn();
    for (let i = 0; i < 6; i++) {
      clock.advance(10 * MINUTE);
      await old.visit();
    }
    expect(old.jar.get('__Host-tessera-ended')).toBe('absolute');
    expect(engine.endReason({ cookie: old.cookie })).toBe('absolute');
  });

  it('says signed_out after a sign-out, to this response and to a request of another tab still on its way', async () => {
    const { engine } = setup();
    const browser = new Browser(engine);
    await browser.signIn();
    const inFlight = browser.cookie;
    const headers = await browser.visit((rs) => rs.signOut());
    expect(setCookies(headers).get('__Host-tessera-ended')).toBe('signed_out');
    expect(headers).toContainEqual(['Clear-Site-Data', '"cache", "storage"']);
    expect((await engine.status({ cookie: inFlight, secure: true })).json).toMatchObject({ signedIn: false, endReason: 'signed_out' });
    expect((await browser.status()).endReason).toBe('signed_out');
  });

  it('says revoked to a session its user ended from another device, and admin to one an administrator ended', async () => {
    const { engine } = setup();
    const [phone, laptop, tablet] = [new Browser(engine), new Browser(engine), new Browser(engine)];
    await phone.signIn();
    await laptop.signIn();
    await tablet.signIn('bob');
    await laptop.visit((rs) => rs.signOutOthers());
    expect(await phone.status()).toMatchObject({ signedIn: false, endReason: 'revoked' });
    expect((await laptop.status()).signedIn).toBe(true);

    expect(await engine.revokeUser('bob')).toBe(1);
    expect(await tablet.status()).toMatchObject({ signedIn: false, endReason: 'admin' });
  });

  it('says replay to both holders when a replaced token comes back after its grace window', async () => {
    const { engine, clock } = setup({ rotateEvery: 15 * MINUTE });
    const victim = new Browser(engine);
    await victim.signIn();
    const stolen = victim.cookie;
    clock.advance(15 * MINUTE);
    await victim.visit(); // hands out the new token
    await victim.visit(); // shows it: the rotation completes
    clock.advance(3 * MINUTE); // past the 30 s grace and the 2 min skew allowance
    const thief = await engine.status({ cookie: stolen, secure: true });
    expect(thief.json).toMatchObject({ signedIn: false, endReason: 'replay' });
    expect(await victim.status()).toMatchObject({ signedIn: false, endReason: 'replay' });
  });

  it('gives no reason for an anonymous session that expires, or a cookie nobody issued', async () => {
    const { engine, clock } = setup();
    const browser = new Browser(engine);
    await browser.visit(async (rs) => rs.data.set('cart', [1]));
    clock.advance(31 * MINUTE);
    expect(setCookies(await browser.visit()).has('__Host-tessera-ended')).toBe(false);
    expect((await engine.status({ cookie: '__Host-sid=s%3Anonsense', secure: true })).json.endReason).toBeNull();
  });

  it('reads only a known reason from the cookie, and never throws on bad input', () => {
    expect(readEndReason('tessera-ended=admin')).toBe('admin');
    expect(readEndReason('__Host-tessera-ended=replay; other=1')).toBe('replay');
    for (const bad of [undefined, '', 'tessera-ended=<script>', 'tessera-ended=toString', 'tessera-ended=idle; tessera-ended=admin', '%', 'x'.repeat(20_000), ['a=1', 'b']]) {
      expect(() => readEndReason(bad)).not.toThrow();
      expect(readEndReason(bad)).toBeNull();
    }
  });
});
