// Two attacks on the session cookie from a sibling subdomain, in a real Chromium: the victim app
// is http://app.tessera.test:<port>, the attacker controls http://evil.tessera.test:<port>, and
// both names reach the same loopback server (routed by the Host header below).
//
// 1. Cookie tossing: the attacker plants his own valid `connect.sid` with Domain=tessera.test
//    next to the victim's host-only one. tessera refuses the duplicate (no session for that
//    request), never clears the victim's own cookie, and with `clearOnDuplicate` clears the
//    planted one so the victim's own cookie works again.
// 2. The NBSP prefix: a cookie named "\u00A0connect.sid" (or "\u00A0__Host-sid") is another
//    cookie to tessera, not the session cookie, even though a server trimming with
//    `String.prototype.trim` would take it for one. Chromium stores and sends such a name (see
//    the assertions for exactly how); a raw-HTTP test covers the single 0xA0 byte that
//    Chromium never sends.
//
// Plain http: `secure: false`, which tessera allows outside NODE_ENV=production (vitest runs
// with NODE_ENV=test).
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import express, { type Express, type Request } from 'express';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/core/events.js';
import {
  TESSERA_TEST_HOSTS,
  describeBrowser,
  launchBrowser,
  screenshot,
  serve,
  setDocumentCookie,
  type TestServer,
} from '../helpers/browser.js';
import { DEFAULT_NAME, buildApp, type AppOptions, type TestApp, type WhoAmI } from '../helpers/express-app.js';

const APP_HOST = 'app.tessera.test';
const EVIL_HOST = 'evil.tessera.test';
/** The parent domain both hosts share, which a page on either may set a cookie for. */
const PARENT_DOMAIN = 'tessera.test';
const NBSP = '\u00A0';
/** The name of the `__Host-` app (the NBSP variant of the prefix bypass). */
const HOST_NAME = '__Host-sid';

/** What `GET /echo` on the app host answers: the Cookie header exactly as the server got it. */
interface Echo {
  /** `req.headers.cookie`: Node decodes header bytes as latin1, one character per byte. */
  cookie: string | null;
  /** The same header's bytes, in hex. */
  hex: string | null;
}

/** The victim app and the attacker's site on one loopback server. */
interface Site {
  server: TestServer;
  tessera: TestApp;
  /** `http://app.tessera.test:<port><path>` */
  app(path?: string): string;
  /** `http://evil.tessera.test:<port><path>` */
  evil(path?: string): string;
  close(): Promise<void>;
}

function hostOf(req: Request): string {
  return (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
}

/** The victim's page: buttons for people (and screenshots), functions on `window` for the test. */
const VICTIM_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Victim app (app.tessera.test)</title>
<style>body{font:15px sans-serif;margin:2em}pre{background:#eef;padding:1em;white-space:pre-wrap;word-break:break-all}</style></head>
<body>
<h1>Victim app &mdash; app.tessera.test</h1>
<p><button id="signin" onclick="signIn('alice')">Sign in as alice</button>
<button id="whoami" onclick="whoami()">Who am I?</button></p>
<p>Signed in as: <strong id="user">?</strong></p>
<pre id="log"></pre>
<script>
function log(line) { document.getElementById('log').textContent += line + '\\n'; }
async function call(method, path) {
  const response = await fetch(path, { method, credentials: 'same-origin' });
  const body = await response.json();
  log(method + ' ' + path + ' -> ' + response.status + ' ' + JSON.stringify(body));
  if (body && 'userId' in body) document.getElementById('user').textContent = body.userId === null ? '(nobody)' : body.userId;
  return body;
}
window.signIn = (user) => call('POST', '/signin/' + encodeURIComponent(user));
window.whoami = () => call('GET', '/whoami');
window.echo = () => call('GET', '/echo');
</script>
</body></html>`;

const EVIL_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Attacker (evil.tessera.test)</title></head>
<body style="font:15px sans-serif;margin:2em;background:#fee"><h1>evil.tessera.test</h1><p>Nothing to see here.</p></body></html>`;

/**
 * One server: `evil.tessera.test` gets the attacker's page; every other host gets the victim's
 * page (`/`), the Cookie echo (`/echo`, outside the session middleware) and the tessera app of
 * `buildApp` (`/whoami`, `POST /signin/:user`, ...).
 */
async function startSite(options: AppOptions): Promise<Site> {
  const tessera = buildApp(options);
  const root: Express = express();
  root.use((req, res, next) => {
    if (hostOf(req) !== EVIL_HOST) return next();
    if (req.method === 'GET' && req.path === '/') return void res.type('html').send(EVIL_PAGE);
    res.status(404).send('not here');
  });
  root.get('/', (_req, res) => {
    res.type('html').send(VICTIM_PAGE);
  });
  root.get('/echo', (req, res) => {
    const cookie = req.headers.cookie ?? null;
    const echo: Echo = { cookie, hex: cookie === null ? null : Buffer.from(cookie, 'latin1').toString('hex') };
    res.json(echo);
  });
  root.use(tessera.app);
  const server = await serve(root);
  return {
    server,
    tessera,
    app: (path = '/') => server.url(APP_HOST, path),
    evil: (path = '/') => server.url(EVIL_HOST, path),
    close: async () => {
      await server.close();
      await tessera.middleware.engine.close();
    },
  };
}

/** A request from Node (not the browser) to the site, under the app's Host name. */
async function nodeRequest(
  site: Site,
  method: string,
  path: string,
  cookie?: string,
  host = APP_HOST,
): Promise<{ status: number; setCookie: string[]; body: string }> {
  return new Promise((resolveRequest, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: site.server.port,
        method,
        path,
        headers: { host: `${host}:${site.server.port}`, ...(cookie !== undefined && { cookie }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolveRequest({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The attacker signs in as `user` from Node, on the victim app, and keeps the cookie value. The
 * request names `localhost`, a secure context to browsers and to tessera, standing in for the
 * HTTPS the attacker would use: tessera withholds a `Secure` cookie on plain HTTP elsewhere.
 */
async function attackerCookieValue(site: Site, user: string): Promise<string> {
  const name = site.tessera.middleware.engine.options.cookie.name;
  const response = await nodeRequest(site, 'POST', `/signin/${user}`, undefined, 'localhost');
  expect(response.status).toBe(200);
  const line = response.setCookie.find((l) => l.startsWith(`${name}=`));
  expect(line, `a ${name} Set-Cookie for ${user}`).toBeDefined();
  const value = line!.slice(name.length + 1).split(';')[0]!;
  // A value a script can put into document.cookie unchanged.
  expect(value).toMatch(/^[A-Za-z0-9._~%-]+$/);
  return value;
}

/** The functions the victim page puts on `window` (the tests compile without the DOM lib). */
interface VictimGlobals {
  signIn(user: string): Promise<unknown>;
  whoami(): Promise<WhoAmI>;
  echo(): Promise<Echo>;
}

/** A call the victim page made, with the `Set-Cookie` lines of its response. */
interface Call<T> {
  body: T;
  setCookie: string[];
}

/** Have the victim page call one of its functions, and capture the response's `Set-Cookie`. */
async function victimCall<T>(page: Page, path: string, fn: keyof VictimGlobals, arg = ''): Promise<Call<T>> {
  const responded = page.waitForResponse((r) => new URL(r.url()).pathname === path);
  const body = (await page.evaluate(
    ([name, argument]) => {
      const globals = globalThis as unknown as VictimGlobals;
      return name === 'signIn' ? globals.signIn(argument) : globals[name]();
    },
    [fn, arg] as const,
  )) as T;
  const response = await responded;
  const setCookie = (await response.headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value);
  return { body, setCookie };
}

const whoami = (page: Page): Promise<Call<WhoAmI>> => victimCall(page, '/whoami', 'whoami');
const echo = (page: Page): Promise<Call<Echo>> => victimCall(page, '/echo', 'echo');
const signIn = (page: Page, user: string): Promise<Call<unknown>> => victimCall(page, `/signin/${encodeURIComponent(user)}`, 'signIn', user);

/** Every `/whoami` answer a context received, to check none ever named the attacker. */
function recordWhoamis(ctx: BrowserContext): () => Promise<WhoAmI[]> {
  const pending: Array<Promise<WhoAmI>> = [];
  ctx.on('response', (response: Response) => {
    if (new URL(response.url()).pathname === '/whoami') pending.push(response.json() as Promise<WhoAmI>);
  });
  return () => Promise.all(pending);
}

function invalidTokenReasons(events: readonly SessionEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'invalid_token' ? [e.reason] : []));
}

/** `name=value` pairs of a Cookie header, split on `; ` as browsers join them. */
function cookiePairs(header: string | null): string[] {
  return header === null ? [] : header.split('; ');
}

/** How Node hands the app a cookie name that Chromium sent with an NBSP in front: UTF-8 C2 A0, read as latin1. */
function asNodeSeesUtf8(name: string): string {
  return Buffer.from(name, 'utf8').toString('latin1');
}

describeBrowser('cookie tossing and the NBSP prefix, in Chromium (app.tessera.test vs evil.tessera.test)', () => {
  let browser: Browser | undefined;
  /** The victim app without `clearOnDuplicate`. */
  let plain: Site | undefined;
  /** The victim app with `clearOnDuplicate: [{ domain: 'tessera.test', path: '/' }]`. */
  let clearing: Site | undefined;
  /** The victim app under a `__Host-sid` cookie (secure: true; the browser never gets that cookie over http). */
  let hostPrefixed: Site | undefined;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    plain = await startSite({ cookie: { secure: false } });
    clearing = await startSite({ cookie: { secure: false, clearOnDuplicate: [{ domain: PARENT_DOMAIN, path: '/' }] } });
    hostPrefixed = await startSite({ name: HOST_NAME, cookie: { secure: true } });
    browser = await launchBrowser({ hostResolverRules: TESSERA_TEST_HOSTS });
  }, 120_000);

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await plain?.close();
    await clearing?.close();
    await hostPrefixed?.close();
  });

  async function freshContext(): Promise<BrowserContext> {
    if (browser === undefined) throw new Error('the browser did not start');
    context = await browser.newContext();
    return context;
  }

  /** The session cookies the browser would send to the app host, as `{ domain, value }`, sorted by domain. */
  async function sessionCookies(ctx: BrowserContext, site: Site, name = DEFAULT_NAME): Promise<Array<{ domain: string; value: string }>> {
    const cookies = await ctx.cookies(site.app('/'));
    return cookies
      .filter((c) => c.name === name)
      .map((c) => ({ domain: c.domain, value: c.value }))
      .sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  /**
   * The shared first half of attack 1: the victim signs in as alice on app.tessera.test, the
   * attacker signs in as mallory from Node and plants mallory's cookie for the parent domain
   * from a page on evil.tessera.test. Returns the victim's page and both cookie values.
   */
  async function tossOnto(site: Site): Promise<{ ctx: BrowserContext; victim: Page; victimValue: string; malloryValue: string; whoamis: () => Promise<WhoAmI[]> }> {
    const ctx = await freshContext();
    const whoamis = recordWhoamis(ctx);
    const victim = await ctx.newPage();
    expect((await victim.goto(site.app('/')))?.status()).toBe(200);
    const signedIn = await signIn(victim, 'alice');
    expect(signedIn.setCookie.some((l) => l.startsWith(`${DEFAULT_NAME}=`))).toBe(true);
    expect((await whoami(victim)).body.userId).toBe('alice');

    // The browser keeps alice's cookie host-only (no Domain: Playwright shows the bare host name).
    const before = await sessionCookies(ctx, site);
    expect(before).toEqual([{ domain: APP_HOST, value: expect.any(String) }]);
    const victimValue = before[0]!.value;

    const malloryValue = await attackerCookieValue(site, 'mallory');
    expect(malloryValue).not.toBe(victimValue);

    const evil = await ctx.newPage();
    expect((await evil.goto(site.evil('/')))?.status()).toBe(200);
    // The victim's cookie is HttpOnly and for another host: evil's script sees only its own.
    expect(await setDocumentCookie(evil, `${DEFAULT_NAME}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe(`${DEFAULT_NAME}=${malloryValue}`);
    await evil.close();

    // Both now go to app.tessera.test: alice's host-only one and mallory's Domain one.
    expect(await sessionCookies(ctx, site)).toEqual([
      { domain: `.${PARENT_DOMAIN}`, value: malloryValue },
      { domain: APP_HOST, value: victimValue },
    ]);
    const sent = (await echo(victim)).body;
    expect(cookiePairs(sent.cookie).filter((p) => p.startsWith(`${DEFAULT_NAME}=`)).sort()).toEqual(
      [`${DEFAULT_NAME}=${victimValue}`, `${DEFAULT_NAME}=${malloryValue}`].sort(),
    );
    return { ctx, victim, victimValue, malloryValue, whoamis };
  }

  it('cookie tossing without clearOnDuplicate: the duplicate gets no session, and the victim\'s own cookie is not cleared', async () => {
    const site = plain!;
    const mark = site.tessera.events.length;
    const { ctx, victim, victimValue, malloryValue, whoamis } = await tossOnto(site);

    const tossed = await whoami(victim);
    expect(tossed.body.userId).toBeNull();
    expect(tossed.body.isNew).toBe(true);
    // No clearing cookie at all: not for alice's host-only cookie, and none configured for the Domain one.
    expect(tossed.setCookie.filter((l) => l.startsWith(`${DEFAULT_NAME}=`))).toEqual([]);
    expect(invalidTokenReasons(site.tessera.events.slice(mark))).toContain('duplicate');

    // The browser's jar: alice's host-only cookie is still there, unchanged (and so is mallory's).
    expect(await sessionCookies(ctx, site)).toEqual([
      { domain: `.${PARENT_DOMAIN}`, value: malloryValue },
      { domain: APP_HOST, value: victimValue },
    ]);
    // Without clearOnDuplicate the planted cookie stays, so the victim stays without a session
    // (refused, never served as mallory) until it goes: a lock-out, not a takeover.
    expect((await whoami(victim)).body.userId).toBeNull();

    expect((await whoamis()).map((w) => w.userId)).not.toContain('mallory');
    await screenshot(victim, 'cookie-tossing/1a-duplicate-refused-no-clear');
  }, 60_000);

  it('cookie tossing with clearOnDuplicate: the planted Domain cookie is cleared, and the victim is alice again', async () => {
    const site = clearing!;
    const mark = site.tessera.events.length;
    const { ctx, victim, victimValue, whoamis } = await tossOnto(site);

    const tossed = await whoami(victim);
    expect(tossed.body.userId).toBeNull();
    // Clearing cookies for the configured Domain scope only (its path, and each prefix of this
    // request's path); none for the host-only cookie.
    const clears = tossed.setCookie.filter((l) => l.startsWith(`${DEFAULT_NAME}=`));
    expect(clears.length).toBeGreaterThanOrEqual(1);
    for (const clear of clears) {
      expect(clear).toMatch(new RegExp(`^${DEFAULT_NAME}=;`));
      expect(clear).toMatch(new RegExp(`; Domain=${PARENT_DOMAIN.replace('.', '\\.')}(;|$)`, 'i'));
      expect(clear).toMatch(/; (Max-Age=0|Expires=Thu, 01 Jan 1970 00:00:00 GMT)(;|$)/);
    }
    expect(clears.some((clear) => /; Path=\/(;|$)/.test(clear))).toBe(true);
    expect(invalidTokenReasons(site.tessera.events.slice(mark))).toContain('duplicate');

    // In the jar: the planted cookie is gone, alice's host-only cookie is still there.
    expect(await sessionCookies(ctx, site)).toEqual([{ domain: APP_HOST, value: victimValue }]);
    const sent = (await echo(victim)).body;
    expect(cookiePairs(sent.cookie).filter((p) => p.startsWith(`${DEFAULT_NAME}=`))).toEqual([`${DEFAULT_NAME}=${victimValue}`]);

    // The next request: alice's own cookie works again.
    expect((await whoami(victim)).body.userId).toBe('alice');

    expect((await whoamis()).map((w) => w.userId)).not.toContain('mallory');
    await screenshot(victim, 'cookie-tossing/1b-duplicate-cleared-alice-again');
  }, 60_000);

  it('cookie tossing on a path of the attacker\'s choice: clearOnDuplicate clears that path too, and the victim is alice again', async () => {
    const site = clearing!;
    const ctx = await freshContext();
    const whoamis = recordWhoamis(ctx);
    const victim = await ctx.newPage();
    expect((await victim.goto(site.app('/')))?.status()).toBe(200);
    await signIn(victim, 'alice');
    expect((await whoami(victim)).body.userId).toBe('alice');

    const malloryValue = await attackerCookieValue(site, 'mallory');
    const evil = await ctx.newPage();
    await evil.goto(site.evil('/'));
    // A path longer than "/" comes first in the Cookie header, and the configured scope says "/".
    await setDocumentCookie(evil, `${DEFAULT_NAME}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/whoami`);
    await evil.close();

    const tossed = await whoami(victim);
    expect(tossed.body.userId).toBeNull();
    expect(tossed.setCookie.some((line) => line.startsWith(`${DEFAULT_NAME}=;`) && /; Path=\/whoami(;|$)/.test(line))).toBe(true);
    expect((await sessionCookies(ctx, site)).map((cookie) => cookie.domain)).toEqual([APP_HOST]);
    expect((await whoami(victim)).body.userId).toBe('alice');
    expect((await whoamis()).map((w) => w.userId)).not.toContain('mallory');
  }, 60_000);

  it('the NBSP prefix: a planted "\\u00A0connect.sid" holding mallory\'s valid cookie does not sign the victim in', async () => {
    const site = plain!;
    const mark = site.tessera.events.length;
    const malloryValue = await attackerCookieValue(site, 'mallory');
    const ctx = await freshContext();
    const whoamis = recordWhoamis(ctx);

    const evil = await ctx.newPage();
    await evil.goto(site.evil('/'));
    const nbspName = `${NBSP}${DEFAULT_NAME}`;
    // Chromium accepts the name (NBSP is not whitespace to its cookie parser, nor a control character).
    expect(await setDocumentCookie(evil, `${nbspName}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe(`${nbspName}=${malloryValue}`);
    await evil.close();
    expect((await ctx.cookies(site.app('/'))).map((c) => ({ name: c.name, domain: c.domain, value: c.value }))).toEqual([
      { name: nbspName, domain: `.${PARENT_DOMAIN}`, value: malloryValue },
    ]);

    const victim = await ctx.newPage();
    await victim.goto(site.app('/'));
    // Chromium does send it, UTF-8 encoded: the bytes C2 A0 before the name. Node reads header
    // bytes as latin1, so the app sees "\u00C2\u00A0connect.sid" (a lone 0xA0 byte, as a
    // non-browser client can send it, is the raw-HTTP test below).
    const sent = (await echo(victim)).body;
    expect(sent.hex).toBe(Buffer.from(`${nbspName}=${malloryValue}`, 'utf8').toString('hex'));
    expect(sent.hex!.startsWith('c2a0')).toBe(true);
    expect(sent.cookie).toBe(`${asNodeSeesUtf8(nbspName)}=${malloryValue}`);

    // tessera does not take it for connect.sid: no session, and nothing presented at all.
    const who = await whoami(victim);
    expect(who.body.userId).toBeNull();
    expect(who.body.isNew).toBe(true);
    expect(invalidTokenReasons(site.tessera.events.slice(mark))).toEqual([]);
    expect((await whoamis()).map((w) => w.userId)).not.toContain('mallory');
    await screenshot(victim, 'cookie-tossing/2a-nbsp-connect.sid-ignored');

    // Control, in a fresh profile: the very same value under the exact name, planted the same
    // way, does sign the victim in as mallory. The value is valid; only the NBSP name is ignored.
    // (That the exact name works is what a non-__Host- cookie name allows a sibling host to do
    // to a browser with no session cookie of its own; a __Host- name prevents it.)
    await ctx.close();
    const control = await freshContext();
    const evil2 = await control.newPage();
    await evil2.goto(site.evil('/'));
    await setDocumentCookie(evil2, `${DEFAULT_NAME}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`);
    const victim2 = await control.newPage();
    await victim2.goto(site.app('/'));
    expect((await whoami(victim2)).body.userId).toBe('mallory');
  }, 60_000);

  it('the NBSP prefix on a __Host- name: Chromium lets a non-secure sibling set "\\u00A0__Host-sid" with a Domain; tessera ignores it', async () => {
    const site = hostPrefixed!;
    const mark = site.tessera.events.length;
    const malloryValue = await attackerCookieValue(site, 'mallory');
    const ctx = await freshContext();
    const whoamis = recordWhoamis(ctx);

    const evil = await ctx.newPage();
    await evil.goto(site.evil('/'));
    // What the __Host- prefix is for: Chromium refuses the real name with a Domain (and without
    // Secure, from an http page), also with a leading SP (trimmed first) and in lower case.
    expect(await setDocumentCookie(evil, `${HOST_NAME}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe('');
    expect(await setDocumentCookie(evil, ` ${HOST_NAME}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe('');
    expect(await setDocumentCookie(evil, `${HOST_NAME.toLowerCase()}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe('');
    // But an NBSP in front is not the prefix to Chromium: it stores that cookie, for the parent
    // domain, not Secure.
    const nbspName = `${NBSP}${HOST_NAME}`;
    expect(await setDocumentCookie(evil, `${nbspName}=${malloryValue}; Domain=${PARENT_DOMAIN}; Path=/`)).toBe(`${nbspName}=${malloryValue}`);
    await evil.close();
    expect((await ctx.cookies(site.app('/'))).map((c) => ({ name: c.name, domain: c.domain, secure: c.secure, value: c.value }))).toEqual([
      { name: nbspName, domain: `.${PARENT_DOMAIN}`, secure: false, value: malloryValue },
    ]);

    const victim = await ctx.newPage();
    await victim.goto(site.app('/'));
    const sent = (await echo(victim)).body;
    expect(sent.cookie).toBe(`${asNodeSeesUtf8(nbspName)}=${malloryValue}`);

    const who = await whoami(victim);
    expect(who.body.userId).toBeNull();
    expect(invalidTokenReasons(site.tessera.events.slice(mark))).toEqual([]);
    expect((await whoamis()).map((w) => w.userId)).not.toContain('mallory');
    await screenshot(victim, 'cookie-tossing/2b-nbsp-host-prefix-ignored');

    // Control: the value is valid under the exact name (sent from Node; no browser would send a
    // __Host- cookie that a sibling set).
    const direct = await nodeRequest(site, 'GET', '/whoami', `${HOST_NAME}=${malloryValue}`);
    expect((JSON.parse(direct.body) as WhoAmI).userId).toBe('mallory');
  }, 60_000);
});

/** One raw HTTP/1.1 request over a socket, `headerBytes` written as given (latin1: one byte per character). */
async function rawRequest(port: number, path: string, headerBytes: string): Promise<{ status: number; body: string }> {
  const head = `GET ${path} HTTP/1.1\r\nHost: ${APP_HOST}:${port}\r\n${headerBytes}Connection: close\r\n\r\n`;
  const raw = await new Promise<Buffer>((resolveRaw, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolveRaw(Buffer.concat(chunks)));
    socket.on('error', reject);
    socket.end(Buffer.from(head, 'latin1'));
  });
  const text = raw.toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const split = text.indexOf('\r\n\r\n');
  let body = text.slice(split + 4);
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, split))) body = unchunk(body);
  return { status, body: Buffer.from(body, 'latin1').toString('utf8') };
}

/** `text` as a JS string literal with every non-ASCII character escaped, for assertion messages. */
function shown(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function unchunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

// Not a browser test: the bytes a non-browser client can send and Chromium never does (it
// UTF-8-encodes the name, see above). Runs whether or not Chromium is installed.
describe('the NBSP prefix over raw HTTP (a lone 0xA0 byte before the cookie name)', () => {
  let plain: Site | undefined;
  let hostPrefixed: Site | undefined;

  beforeAll(async () => {
    plain = await startSite({ cookie: { secure: false } });
    hostPrefixed = await startSite({ name: HOST_NAME, cookie: { secure: true } });
  });

  afterAll(async () => {
    await plain?.close();
    await hostPrefixed?.close();
  });

  it('ignores "\\xA0connect.sid" and "\\xA0__Host-sid" holding a valid cookie, and accepts the exact names', async () => {
    for (const site of [plain!, hostPrefixed!]) {
      const name = site.tessera.middleware.engine.options.cookie.name;
      const value = await attackerCookieValue(site, 'mallory');
      const port = site.server.port;

      // Node delivers the byte to the app as U+00A0 (latin1), so a server that trimmed with
      // String.prototype.trim would read this very header as `name=value`.
      const echoed = await rawRequest(port, '/echo', `Cookie: \xa0${name}=${value}\r\n`);
      expect(echoed.status).toBe(200);
      expect((JSON.parse(echoed.body) as Echo).cookie).toBe(`\u00A0${name}=${value}`);
      expect(`\u00A0${name}`.trim()).toBe(name);

      for (const prefix of ['\xa0', '\xc2\xa0', ' \xa0', '\xa0 ']) {
        const who = await rawRequest(port, '/whoami', `Cookie: ${prefix}${name}=${value}\r\n`);
        expect(who.status, `${name} after ${shown(prefix)}`).toBe(200);
        expect((JSON.parse(who.body) as WhoAmI).userId, `${name} after ${shown(prefix)}`).toBeNull();
      }
      // The same value under the exact name (SP/HTAB around it are optional whitespace) is mallory's session.
      for (const prefix of ['', ' ', '\t']) {
        const who = await rawRequest(port, '/whoami', `Cookie: ${prefix}${name}=${value}\r\n`);
        expect((JSON.parse(who.body) as WhoAmI).userId, `${name} after ${shown(prefix)}`).toBe('mallory');
      }
    }
  });
});
