/**
 * The suite's HTTP client: `node:http` requests (nothing added to the headers given, unlike
 * `fetch`, which adds `Sec-Fetch-Mode`), a raw socket for `Cookie` headers that no client
 * library would send, and a one-cookie browser jar.
 * @module
 */
import http from 'node:http';
import net from 'node:net';
import { expect } from 'vitest';
import { isClearing, parseSetCookie, type SetCookie } from '../../helpers/cookies.js';
import { COOKIE, chunksOf } from './contract.js';

/** A response as the suite reads it. */
export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body as JSON (`undefined` when it is not JSON). */
  json: Record<string, unknown> | undefined;
  /** The `Set-Cookie` lines for the session cookie. */
  sessionCookies: SetCookie[];
}

function reply(status: number, headers: http.IncomingHttpHeaders, body: string): Reply {
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  const lines = headers['set-cookie'] ?? [];
  const sessionCookies = lines.map(parseSetCookie).filter((cookie) => cookie.name === COOKIE);
  // OWASP: a response carrying a session cookie must not be cached, whatever the adapter.
  if (sessionCookies.length > 0) expect(headers['cache-control'], `Cache-Control of a response setting ${COOKIE}`).toBe('no-store');
  return { status, headers, body, json, sessionCookies };
}

/** Send one request. `path` may carry a query string. */
export function send(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = http.request(url, { method, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(reply(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Send a GET whose `Cookie` header is these exact bytes, over a raw socket. @returns the status. */
export function sendRawCookie(base: string, path: string, cookie: Buffer): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const at = text.indexOf('\r\n\r\n');
      const head = text.slice(0, at);
      let body = text.slice(at + 4);
      if (/\r\ntransfer-encoding: chunked/i.test(head)) body = dechunk(body);
      resolve({ status, body });
    });
    socket.write(Buffer.concat([Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: `, 'latin1'), cookie, Buffer.from('\r\n\r\n', 'latin1')]));
  });
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/** A browser's session cookie: sends what it holds, takes what the server sets. */
export class Jar {
  value: string | undefined;

  /** The `Cookie` header to send. */
  get headers(): Record<string, string> {
    return this.value === undefined ? {} : { cookie: `${COOKIE}=${this.value}` };
  }

  /** Take the response's session cookie, if it set or cleared one. */
  take(res: Reply): Reply {
    const [set] = res.sessionCookies;
    if (set !== undefined) this.value = isClearing(set) ? undefined : set.value;
    return res;
  }

  /** A copy holding the same cookie (another tab, a replayed request). */
  copy(): Jar {
    const jar = new Jar();
    jar.value = this.value;
    return jar;
  }
}

/** Listen on 127.0.0.1 (a free port) and give the app's URL and a close that drops open connections. */
export async function listenOn(server: http.Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Wait for the next turn of the event loop (the pause between two streamed chunks). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A body of two chunks with a pause between them. */
export function twoChunks(body: unknown): ReadableStream<Uint8Array> {
  const [head, tail] = chunksOf(body).map((text) => new TextEncoder().encode(text));
  return new ReadableStream({
    async start(controller) {
      controller.enqueue(head!);
      await nextTurn();
      controller.enqueue(tail!);
      controller.close();
    },
  });
}
