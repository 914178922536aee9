/**
 * A rotation is decided while the session loads, so a response whose headers leave early, or
 * that never reaches the client at all, must not sign a real user out or raise a false theft
 * alarm. Over real HTTP (a server listening on 127.0.0.1), on a frozen clock, for each way a
 * response can go out: aborted, `express.static`, `res.sendFile`, `res.write()`,
 * `res.writeHead()`, `res.flushHeaders()`, `compression()`, and a cross-site request for a static
 * file. For each:
 * (a) the rotating response carries the new token (or, aborted, never reaches the client);
 * (b) a browser that follows Set-Cookie stays signed in through three rotations in an hour;
 * (c) a client that never took the new cookie is still signed in with the old one well past the
 *     grace window, with no `reuse_detected` and no `revoked`;
 * (d) once the new token has been shown, the old one after grace + skew is still a replay.
 */
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import compression from 'compression';
import express, { type Express, type Request, type Response } from 'express';
import request from 'supertest';
import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { MINUTE, SECOND, T0, frozenClock, type TestClock } from '../helpers/clock.js';
import { CookieJar, cookieHeader, parseSignedValue, setCookiesNamed, storeKeyOfValue, theSetCookie, type HasHeaders, type SetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, listen, sessionOf, tesseraOf, type TestApp, type WhoAmI } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

const GRACE = 30 * SECOND;
const SKEW = 2 * MINUTE;
const ROTATE = 15 * MINUTE;

/** The contents of the temp files served. */
const HELLO = 'hello from a static file\n';
const LOGO = 'GIF89a-not-really-a-logo\n';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-delivery-'));
  writeFileSync(join(dir, 'hello.txt'), HELLO);
  writeFileSync(join(dir, 'logo.txt'), LOGO);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Setup extends TestApp {
  clock: TestClock;
  store: RecordingStore;
  url: string;
  /** Resolves with the server side of the next `/abort` request once its handler runs. */
  nextAbort(): Promise<Response>;
  /** Settles with what the next `/signin-after-response` got from `signIn`. */
  nextLateSignIn(): Promise<unknown>;
}

/** Hands values from the app's handlers to the test, in order. */
class Mailbox<T> {
  readonly #waiting: Array<(value: T) => void> = [];
  readonly #ready: T[] = [];

  put(value: T): void {
    const take = this.#waiting.shift();
    if (take === undefined) this.#ready.push(value);
    else take(value);
  }

  take(): Promise<T> {
    const value = this.#ready.shift();
    if (value !== undefined) return Promise.resolve(value);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

const opened: Array<{ close: () => Promise<void>; store: Store }> = [];
afterEach(async () => {
  for (const { close, store } of opened.splice(0)) {
    await close();
    await store.close();
  }
});

/** The app of `buildApp` plus one route per way of responding, listening on 127.0.0.1. */
async function setup(open: (now: () => number) => Store): Promise<Setup> {
  const clock = frozenClock();
  const store = new RecordingStore(open(clock.now));
  const t = buildApp({ store, now: clock.now });
  const aborts = new Mailbox<Response>();
  const lateSignIns = new Mailbox<{ outcome: unknown }>();
  mountRoutes(t.app, aborts, lateSignIns);
  const server = await listen(t.app);
  opened.push({ close: server.close, store });
  return {
    ...t,
    clock,
    store,
    url: server.url,
    nextAbort: () => aborts.take(),
    nextLateSignIn: async () => (await lateSignIns.take()).outcome,
  };
}

const userOf = (req: Request): string => tesseraOf(req).userId ?? 'nobody';

function mountRoutes(app: Express, aborts: Mailbox<Response>, lateSignIns: Mailbox<{ outcome: unknown }>): void {
  // Waits until the client went away, then answers anyway (a slow page the user left).
  app.get('/abort', (req, res) => {
    res.once('close', () => {
      res.end(`late for ${userOf(req)}`);
    });
    aborts.put(res);
  });
  app.use('/static', express.static(dir));
  app.get('/file', (req, res) => {
    res.setHeader('X-User', userOf(req));
    res.sendFile(join(dir, 'hello.txt'));
  });
  app.get('/write', (req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.write(`user=${userOf(req)}\n`);
    res.end('done\n');
  });
  app.get('/write-head', (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'X-Kind': 'write-head',
      // The app's own cookie and caching, given to writeHead: the cookie stays, the caching goes.
      'Set-Cookie': 'theme=dark; Path=/',
      'Cache-Control': 'public, max-age=3600',
    });
    res.end(JSON.stringify({ user: userOf(req) }));
  });
  app.get('/flush', async (req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.flushHeaders();
    await new Promise((resolve) => setImmediate(resolve));
    res.end(`user=${userOf(req)}\n`);
  });
  app.get('/big', compression(), (req, res) => {
    res.json({ user: userOf(req), filler: 'tessera '.repeat(2048) });
  });
  // A brand-new session that gets data only after its headers left.
  app.get('/anonymous-stream', (req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.write('streaming\n');
    sessionOf(req)['cart'] = 'apples';
    res.end('done\n');
  });
  app.get('/anonymous-stream-object', (req, res) => {
    const session = sessionOf(req); // req.session made before the headers leave, filled after
    res.setHeader('Content-Type', 'text/plain');
    res.write('streaming\n');
    session['cart'] = 'pears';
    res.end('done\n');
  });
  app.get('/anonymous-stream-id', (req, res) => {
    res.setHeader('X-Session-Id', String(req.sessionID)); // the session itself made before the headers leave
    res.setHeader('Content-Type', 'text/plain');
    res.write('streaming\n');
    sessionOf(req)['cart'] = 'plums';
    res.end('done\n');
  });
  // signIn once the headers are out: must fail, and leave the old session alone.
  app.get('/late-signin', async (req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.write('streaming\n');
    try {
      await sessionOf(req).signIn('mallory');
      res.end('signed in\n');
    } catch (error) {
      res.end(`error ${isTesseraError(error) ? error.code : String(error)}\n`);
    }
  });
  // signIn once the response is complete (an app that answers first and signs in after).
  // res.send() starts ending the response (the save runs); signIn in the same tick.
  app.get('/signin-while-ending', (req, res) => {
    const session = sessionOf(req);
    res.send('ok');
    session.signIn('mallory').then(
      () => lateSignIns.put({ outcome: 'signed in' }),
      (error: unknown) => lateSignIns.put({ outcome: error }),
    );
  });
  app.get('/signin-after-response', (req, res) => {
    const session = sessionOf(req);
    res.once('finish', () => {
      session.signIn('mallory').then(
        () => lateSignIns.put({ outcome: 'signed in' }),
        (error: unknown) => lateSignIns.put({ outcome: error }),
      );
    });
    res.send('ok');
  });
}

/** What one request of a kind gave the client. */
interface Hit {
  /** Whether a response reached the client. */
  arrived: boolean;
  /** The session cookie it set, if any. */
  offered: SetCookie | undefined;
  headers: HasHeaders['headers'];
}

/** One way of responding: how to make a request of that kind (checking its body). */
interface Kind {
  name: string;
  hit(t: Setup, cookie: string): Promise<Hit>;
}

function fromResponse(res: request.Response): Hit {
  return { arrived: true, offered: setCookiesNamed(res, DEFAULT_NAME)[0], headers: res.headers };
}

/** A GET of `path` (with `extra` request headers) that must answer 200 and pass `check`. */
function plain(name: string, path: string, check: (res: request.Response) => void, extra: Record<string, string> = {}): Kind {
  return {
    name,
    async hit(t, cookie) {
      const res = await request(t.url).get(path).set('Cookie', cookie).set(extra).expect(200);
      check(res);
      return fromResponse(res);
    },
  };
}

/**
 * A request the client gives up on once the server has loaded its session (and started the
 * rotation): the response never reaches it. Resolves once the server has ended its response.
 */
async function abortedHit(t: Setup, cookie: string): Promise<Hit> {
  const entered = t.nextAbort();
  let server: Response | undefined;
  const outcome = await new Promise<'aborted' | 'response'>((resolve) => {
    const req = httpRequest(`${t.url}/abort`, { headers: { Cookie: cookie } }, (res) => {
      res.resume();
      resolve('response');
    });
    req.on('error', () => resolve('aborted'));
    req.end();
    // Abort once the handler runs: by then the session has loaded and the rotation started.
    void entered.then((res) => {
      server = res;
      req.destroy();
    });
  });
  // The server ends its response into the void after the save; wait for that.
  await vi.waitFor(
    () => {
      if (server?.writableEnded !== true) throw new Error('the server has not ended its response yet');
    },
    { interval: 1 },
  );
  return { arrived: outcome === 'response', offered: undefined, headers: {} };
}

const kinds: Array<{ sentence: string; kind: Kind }> = [
  {
    sentence: 'a rotating response that never arrives (the client aborts) costs the user nothing',
    kind: { name: 'aborted', hit: abortedHit },
  },
  {
    sentence: 'express.static after the session sends the new token with the file',
    kind: plain('express.static', '/static/hello.txt', (res) => expect(res.text).toBe(HELLO)),
  },
  {
    sentence: 'res.sendFile sends the new token with the file',
    kind: plain('res.sendFile', '/file', (res) => {
      expect(res.text).toBe(HELLO);
      expect(res.headers['x-user']).toBe('alice');
    }),
  },
  {
    sentence: 'res.write() then res.end() sends the new token with the streamed headers',
    kind: plain('res.write', '/write', (res) => expect(res.text).toBe('user=alice\ndone\n')),
  },
  {
    sentence: 'res.writeHead(200, headers) then res.end(body) sends the new token beside the given headers',
    kind: plain('res.writeHead', '/write-head', (res) => {
      expect(res.headers['x-kind']).toBe('write-head');
      expect(setCookiesNamed(res, 'theme').map((cookie) => cookie.value)).toEqual(['dark']);
      expect(res.body).toEqual({ user: 'alice' });
    }),
  },
  {
    sentence: 'res.flushHeaders() then res.end() sends the new token with the flushed headers',
    kind: plain('res.flushHeaders', '/flush', (res) => expect(res.text).toBe('user=alice\n')),
  },
  {
    sentence: 'compression() after the session sends the new token with a gzipped body',
    kind: plain(
      'compression',
      '/big',
      (res) => {
        expect(res.headers['content-encoding']).toBe('gzip');
        expect((res.body as { user: string }).user).toBe('alice');
      },
      { 'Accept-Encoding': 'gzip' },
    ),
  },
  {
    sentence: 'a page on another site linking to a static file at the rotation moment hands out the new token, and the user comes back signed in',
    kind: plain('cross-site static file', '/static/logo.txt', (res) => expect(res.text).toBe(LOGO), {
      'Sec-Fetch-Site': 'cross-site',
      'Sec-Fetch-Mode': 'no-cors',
      'Sec-Fetch-Dest': 'image',
    }),
  },
];

const stores: Array<[string, (now: () => number) => Store]> = [
  ['MemoryStore', (now) => new MemoryStore({ now, sweepIntervalMs: 0 })],
  ['SqliteStore', (now) => new SqliteStore({ database: ':memory:', now, purgeIntervalMs: 0 })],
];

const tokenOf = (cookie: SetCookie): string => parseSignedValue(cookie.value).token;
const types = (t: Setup): string[] => t.events.map((event) => event.type);

async function signIn(t: Setup): Promise<SetCookie> {
  return theSetCookie(await request(t.url).post('/signin/alice').expect(200), DEFAULT_NAME);
}

async function whoami(t: Setup, cookie: string): Promise<{ body: WhoAmI; offered: SetCookie | undefined }> {
  const res = await request(t.url).get('/whoami').set('Cookie', cookie).expect(200);
  return { body: res.body as WhoAmI, offered: setCookiesNamed(res, DEFAULT_NAME)[0] };
}

function expectNoAlarm(t: Setup): void {
  expect(types(t)).not.toContain('reuse_detected');
  expect(types(t)).not.toContain('revoked');
  expect(types(t)).not.toContain('stale_cookie');
  expect(types(t)).not.toContain('invalid_token');
}

/** (a): the rotating response carried a new token for the same session, uncached; or never arrived. */
function expectHandedOut(kind: Kind, hit: Hit, old: SetCookie): void {
  if (kind.name === 'aborted') {
    expect(hit.arrived).toBe(false);
    return;
  }
  expect(hit.arrived).toBe(true);
  expect(hit.offered, `${kind.name}: no Set-Cookie on the rotating response`).toBeDefined();
  expect(tokenOf(hit.offered!)).not.toBe(tokenOf(old));
  expect(storeKeyOfValue(hit.offered!.value)).toBe(storeKeyOfValue(old.value));
  expect(String(hit.headers['cache-control'])).toContain('no-store');
}

/** (b): a browser that follows Set-Cookie, making requests of this kind every 5 minutes for an hour. */
async function followsCookies(t: Setup, kind: Kind): Promise<void> {
  const jar = new CookieJar(DEFAULT_NAME, await signIn(t));
  const start = t.clock.now();
  for (let minute = 5; minute <= 60; minute += 5) {
    t.clock.set(start + minute * MINUTE);
    const hit = await kind.hit(t, jar.header);
    if (kind.name === 'aborted') {
      expect(hit.arrived).toBe(false);
      // The next page the user opens arrives, and the browser takes its cookie.
      const res = await request(t.url).get('/whoami').set('Cookie', jar.header).expect(200);
      expect((res.body as WhoAmI).userId).toBe('alice');
      jar.update(res);
    } else {
      jar.update(hit);
    }
  }
  expect((await whoami(t, jar.header)).body.userId).toBe('alice');
  expect(types(t).filter((type) => type === 'rotated').length).toBeGreaterThanOrEqual(3);
  expectNoAlarm(t);
}

describe.each(stores)('rotation delivery on %s', (_name, open) => {
  for (const { sentence, kind } of kinds) {
    it(sentence, async () => {
      const t = await setup(open);

      // (b) a browser that follows its cookie through three rotations in an hour.
      await followsCookies(t, kind);

      // A new session, two hours later.
      t.clock.set(T0 + 2 * 60 * MINUTE);
      t.events.length = 0;
      const old = await signIn(t);
      const start = t.clock.now();

      // (a) the rotation moment.
      t.clock.set(start + ROTATE);
      const rotating = await kind.hit(t, cookieHeader(old));
      expectHandedOut(kind, rotating, old);

      // (c) the client never took the new cookie: 5 minutes later (far past grace + skew) the
      // old one still works, and gets the same new token again.
      t.clock.set(start + ROTATE + 5 * MINUTE);
      const later = await whoami(t, cookieHeader(old));
      expect(later.body.userId).toBe('alice');
      expect(later.offered).toBeDefined();
      if (rotating.offered !== undefined) expect(later.offered!.value).toBe(rotating.offered.value);
      const again = await kind.hit(t, cookieHeader(old));
      if (again.arrived) expect(again.offered?.value).toBe(later.offered!.value);
      t.clock.advance(5 * MINUTE);
      expect((await whoami(t, cookieHeader(old))).offered?.value).toBe(later.offered!.value);
      expectNoAlarm(t);
      expect(types(t)).not.toContain('rotated');

      // (d) the browser takes the new cookie (from the rotating response, or aborted, from the
      // next one) and comes back normally: signed in, the rotation completes, no alarm. After
      // grace + skew the old token is a replay.
      const fresh = rotating.offered ?? later.offered!;
      expect((await whoami(t, cookieHeader(fresh))).body.userId).toBe('alice');
      expect(types(t)).toContain('rotated');
      expectNoAlarm(t);
      t.clock.advance(GRACE + SKEW);
      const replay = await whoami(t, cookieHeader(old));
      expect(replay.body.userId).toBeNull();
      expect(t.events).toContainEqual(expect.objectContaining({ type: 'reuse_detected' }));
      expect(t.events).toContainEqual(expect.objectContaining({ type: 'revoked', reason: 'token_reuse' }));
      expect((await whoami(t, cookieHeader(fresh))).body.userId).toBeNull();
    });
  }

  it('does not store a brand-new session whose headers went out before it got data (no orphan record)', async () => {
    const t = await setup(open);
    for (const path of ['/anonymous-stream', '/anonymous-stream-object', '/anonymous-stream-id']) {
      const res = await request(t.url).get(path).expect(200);
      expect(res.text).toBe('streaming\ndone\n');
      expect(setCookiesNamed(res, DEFAULT_NAME)).toEqual([]);
    }
    expect(t.store.count('set')).toBe(0);
    expect(types(t)).not.toContain('created');
  });

  it('refuses signIn after the headers were sent with HEADERS_SENT, and the old session still works', async () => {
    const t = await setup(open);
    const old = await signIn(t);
    t.events.length = 0;
    const res = await request(t.url).get('/late-signin').set('Cookie', cookieHeader(old)).expect(200);
    expect(res.text).toBe('streaming\nerror HEADERS_SENT\n');
    expect(setCookiesNamed(res, DEFAULT_NAME)).toEqual([]);
    expect((await whoami(t, cookieHeader(old))).body.userId).toBe('alice');
    expect(types(t)).not.toContain('regenerated');
    expect(types(t)).not.toContain('authenticated');
    expect(await t.store.inner.listByUser('mallory')).toEqual([]);
  });

  it('refuses signIn called right after res.send() in the same handler with HEADERS_SENT, and the old session still works', async () => {
    const t = await setup(open);
    const old = await signIn(t);
    t.events.length = 0;
    const outcome = t.nextLateSignIn();
    const res = await request(t.url).get('/signin-while-ending').set('Cookie', cookieHeader(old)).expect(200);
    expect(res.text).toBe('ok');
    const got = await outcome;
    expect(isTesseraError(got) ? got.code : got).toBe('HEADERS_SENT');
    expect(setCookiesNamed(res, DEFAULT_NAME)).toEqual([]);
    expect((await whoami(t, cookieHeader(old))).body.userId).toBe('alice');
    expect(types(t)).not.toContain('regenerated');
    expect(await t.store.inner.listByUser('mallory')).toEqual([]);
  });

  it('refuses signIn after the response was sent (res.send, then signIn) with HEADERS_SENT, and the old session still works', async () => {
    const t = await setup(open);
    const old = await signIn(t);
    t.events.length = 0;
    const outcome = t.nextLateSignIn();
    const res = await request(t.url).get('/signin-after-response').set('Cookie', cookieHeader(old)).expect(200);
    expect(res.text).toBe('ok');
    const got = await outcome;
    expect(isTesseraError(got) ? got.code : got).toBe('HEADERS_SENT');
    expect((await whoami(t, cookieHeader(old))).body.userId).toBe('alice');
    expect(types(t)).not.toContain('regenerated');
    expect(await t.store.inner.listByUser('mallory')).toEqual([]);
  });
});
