/**
 * The Next.js example (`examples/next/`), built with `next build`, started with `next start` on
 * 127.0.0.1 and driven over HTTP: route handlers under `sessions.route()`, middleware on the
 * Node.js runtime, and a server action under `sessions.action()` (submitted as the HTML form
 * posts it, without JavaScript).
 *
 * The app is copied to a temporary project whose `node_modules` holds `next`, `react` and
 * `react-dom` (the repository's dev dependencies) and a `tessera` package bundled from the
 * sources with esbuild (ESM, `tessera/next` and `tessera/stores/memory`), so the example
 * imports tessera by its published names. `next build` takes 20 to 60 s on two cores.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isClearing, parseSetCookie } from '../helpers/cookies.js';
import { send } from './conformance/client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const project = mkdtempSync(join(tmpdir(), 'tessera-next-example-'));
let server: ChildProcess | undefined;
let url = '';
let output = '';
/** The app keeps tessera's cookie defaults (`__Host-sid`, Secure): plain HTTP gets them on localhost only. */
let host: Record<string, string> = {};
const get = (path: string, headers: Record<string, string> = {}) => send(url, 'GET', path, { ...host, ...headers });
const post = (path: string, headers: Record<string, string> = {}) => send(url, 'POST', path, { ...host, ...headers });

/** A free port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  cpSync(join(root, 'examples', 'next'), project, { recursive: true });
  const modules = join(project, 'node_modules');
  mkdirSync(modules);
  for (const name of ['next', 'react', 'react-dom']) symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  const tessera = join(modules, 'tessera');
  mkdirSync(join(tessera, 'dist', 'stores'), { recursive: true });
  writeFileSync(
    join(tessera, 'package.json'),
    JSON.stringify({ name: 'tessera', type: 'module', exports: { './next': './dist/next.js', './stores/memory': './dist/stores/memory.js' } }),
  );
  const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
  for (const [entry, out] of [['src/adapters/next/index.ts', 'dist/next.js'], ['src/store/memory.ts', 'dist/stores/memory.js']] as const) {
    execFileSync(esbuild, [join(root, entry), '--bundle', '--platform=node', '--format=esm', '--target=node20', `--outfile=${join(tessera, out)}`, '--log-level=warning'], { stdio: 'pipe' });
  }
  const next = join(modules, 'next', 'dist', 'bin', 'next');
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' };
  execFileSync(process.execPath, [next, 'build'], { cwd: project, env, stdio: 'pipe', timeout: 280_000 });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  host = { host: `localhost:${port}` };
  server = spawn(process.execPath, [next, 'start', '-H', '127.0.0.1', '-p', String(port)], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Ready once it answers (polling the app, not a timer).
  for (;;) {
    if (server.exitCode !== null) throw new Error(`next start exited (${server.exitCode}):\n${output}`);
    try {
      await get('/api/me');
      return;
    } catch {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}, 300_000);

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(project, { recursive: true, force: true });
});

const sid = (res: { headers: Record<string, unknown> }): ReturnType<typeof parseSetCookie>[] =>
  ((res.headers['set-cookie'] as string[] | undefined) ?? []).map(parseSetCookie).filter((c) => c.name === '__Host-sid');

describe('the Next.js example, built and started', () => {
  it('gives a visitor no session and no cookie', async () => {
    const res = await get('/api/me');
    expect([res.status, JSON.parse(res.body)]).toEqual([200, { user: null, calls: 0 }]);
    expect(sid(res)).toEqual([]);
  });

  it('signs in through a route handler, keeps the session, and signs out with Clear-Site-Data', async () => {
    const login = await post('/api/login?user=ada');
    expect(login.status).toBe(200);
    const [cookie] = sid(login);
    expect(cookie?.attributes.get('httponly')).toBe(true);
    expect(login.headers['cache-control']).toBe('no-store');
    expect(cookie?.attributes.get('secure')).toBe(true);
    const jar = { cookie: `__Host-sid=${cookie!.value}` };
    const me = await get('/api/me', jar);
    expect(JSON.parse(me.body)).toEqual({ user: 'ada', calls: 1 });
    // middleware.js, on the Node.js runtime, read the same session.
    expect(me.headers['x-session-user']).toBe('ada');
    expect(JSON.parse((await get('/api/me', jar)).body)).toEqual({ user: 'ada', calls: 2 });
    const logout = await post('/api/logout', jar);
    expect(sid(logout).map(isClearing)).toEqual([true]);
    expect(logout.headers['clear-site-data']).toMatch(/"cache"/);
    expect(JSON.parse((await get('/api/me', jar)).body)).toMatchObject({ user: null });
  });

  it('signs in through a server action, writing the cookie with cookies()', async () => {
    const page = await get('/');
    const action = /name="(\$ACTION_ID_[0-9a-f]+)"/.exec(page.body)?.[1];
    expect(action, page.body.slice(0, 500)).toBeDefined();
    const boundary = 'tesseraboundary';
    const body = [`--${boundary}`, `Content-Disposition: form-data; name="${action}"`, '', '', `--${boundary}`, 'Content-Disposition: form-data; name="user"', '', 'grace', `--${boundary}--`, ''].join('\r\n');
    const res = await postRaw('/', body, { 'content-type': `multipart/form-data; boundary=${boundary}`, origin: `http://${host['host']}` });
    const [cookie] = sid(res);
    expect(cookie, `${res.status} ${JSON.stringify(res.headers)}`).toBeDefined();
    expect(JSON.parse((await get('/api/me', { cookie: `__Host-sid=${cookie!.value}` })).body)).toMatchObject({ user: 'grace' });
  });
});

/** A POST with a body (the suite's `send` sends none). */
async function postRaw(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: 'POST', headers: { ...host, ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
