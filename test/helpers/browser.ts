/**
 * A real browser for the browser tests (`test/browser`): Debian's Chromium driven by
 * playwright-core, a loopback HTTP server for the app under test, and screenshots that stay out
 * of the repository.
 *
 * Locally a missing Chromium skips a {@link describeBrowser} suite with the reason in its name; on
 * CI (`CI=true`) it fails it, so a CI image without a browser never passes as "all green" (as
 * `servers.ts` does for unreachable database servers). `.ci/run` installs Debian's `chromium`.
 *
 * @example
 * describeBrowser('sign-in in a real browser', () => {
 *   let browser: Browser; let server: TestServer;
 *   beforeAll(async () => { browser = await launchBrowser({ hostResolverRules: TESSERA_TEST_HOSTS }); server = await serve(app); });
 *   afterAll(async () => { await browser?.close(); await server?.close(); });
 *   it('works', async () => { const page = await browser.newPage(); await page.goto(server.url('app.tessera.test', '/')); });
 * });
 * @module
 */
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { unavailable } from './unavailable.js';

/**
 * The Chromium executable the tests drive: `CHROMIUM_PATH`, else Debian's launcher script.
 * @default /usr/bin/chromium
 */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

export { IN_CI } from './unavailable.js';

/**
 * Flags every test browser gets. `--disable-background-networking`, `--disable-component-update`
 * and `--disable-sync` stop Chromium's own traffic to Google's services, which test machines
 * cannot reach (Debian's launcher adds the first itself; other builds do not); `--disable-quic`
 * keeps it on TCP; `--no-sandbox` because CI runs as root in a container; `--disable-gpu`
 * because there is none.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Host resolver rules that send every `*.tessera.test` name to loopback, so one test server is
 * reachable under several host names (`app.tessera.test`, `evil.tessera.test`, ...). The port
 * stays the one in the URL.
 */
export const TESSERA_TEST_HOSTS = 'MAP *.tessera.test 127.0.0.1';

/** Options of {@link launchBrowser}. */
export interface LaunchBrowserOptions {
  /**
   * Chromium's `--host-resolver-rules`, e.g. {@link TESSERA_TEST_HOSTS}
   * (`'MAP *.tessera.test 127.0.0.1'`). Without it only real DNS names resolve.
   */
  hostResolverRules?: string;
  /** More Chromium flags, after {@link CHROMIUM_ARGS}. */
  args?: readonly string[];
  /** How long the launch may take, in ms. @default 60000 */
  timeoutMs?: number;
}

/**
 * Launch a headless Chromium ({@link CHROMIUM_PATH}) with {@link CHROMIUM_ARGS}. The caller
 * closes it (`await browser.close()`, typically in `afterAll`). Each `browser.newContext()` is a
 * fresh profile with its own cookie jar.
 */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<Browser> {
  const args = [...CHROMIUM_ARGS];
  if (options.hostResolverRules !== undefined) args.push(`--host-resolver-rules=${options.hostResolverRules}`);
  if (options.args !== undefined) args.push(...options.args);
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args, timeout: options.timeoutMs ?? 60_000 });
}

/** Whether {@link CHROMIUM_PATH} exists and is executable (synchronous: usable at collection time). */
export function browserAvailable(): boolean {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `describe` for a suite that needs the browser. When {@link browserAvailable} is false the
 * suite is skipped with the reason in its name, or on CI (`CI=true`) replaced by one failing test.
 * @param name the suite's name.
 * @param suite registers the suite's hooks and tests, as a `describe` callback does.
 */
export function describeBrowser(name: string, suite: () => void): void {
  if (browserAvailable()) {
    describe(name, suite);
    return;
  }
  unavailable(name, `no Chromium at ${CHROMIUM_PATH} (install Debian's chromium or set CHROMIUM_PATH)`);
}

/** A listening loopback server, from {@link serve}. */
export interface TestServer {
  /** The underlying server. */
  server: Server;
  /** The port it listens on (127.0.0.1). */
  port: number;
  /**
   * The server's origin under `host`, plus `path`: `url('app.tessera.test', '/set')` is
   * `http://app.tessera.test:<port>/set`. The host must resolve to 127.0.0.1 in the browser
   * (see {@link LaunchBrowserOptions.hostResolverRules}).
   * @param host @default 127.0.0.1
   * @param path starts with `/`. @default ''
   */
  url(host?: string, path?: string): string;
  /** Stop listening and drop every open connection (browsers keep them alive). */
  close(): Promise<void>;
}

/**
 * Serve an Express app (or any request listener) on 127.0.0.1, on a free port.
 * @example
 * const server = await serve(app);
 * await page.goto(server.url('app.tessera.test', '/'));
 * await server.close();
 */
export async function serve(listener: RequestListener): Promise<TestServer> {
  const server = createServer(listener);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: (host = '127.0.0.1', path = '') => `http://${host}:${port}${path}`,
    close: () =>
      new Promise<void>((resolveClose, reject) => {
        server.close((error) => (error ? reject(error) : resolveClose()));
        server.closeAllConnections();
      }),
  };
}

/** The part of a page's globals the cookie helpers use (the tests compile without the DOM lib). */
interface PageGlobals {
  document: { cookie: string };
}

/** `document.cookie` in `page`'s main frame: the cookies its scripts see (no `HttpOnly` ones). */
export async function documentCookie(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie);
}

/**
 * Assign `line` to `document.cookie` in `page`'s main frame, as a script on that page would
 * (e.g. `'tossed=1; Domain=tessera.test; Path=/'`).
 * @returns `document.cookie` afterwards.
 */
export async function setDocumentCookie(page: Page, line: string): Promise<string> {
  return page.evaluate((cookieLine) => {
    const { document } = globalThis as unknown as PageGlobals;
    document.cookie = cookieLine;
    return document.cookie;
  }, line);
}

/** Where {@link screenshot} writes: `test-results/screenshots` at the repository root (git-ignored). */
export const SCREENSHOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../test-results/screenshots');

/**
 * Save a full-page PNG of `page` as `<SCREENSHOT_DIR>/<name>.png`, for looking at a failure.
 * Characters other than letters, digits, `.`, `_` and `-` in `name` become `_`.
 * @returns the file's absolute path.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]/g, '_') || 'page'}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
