/**
 * Reading Node's `IncomingMessage` headers where `req.headers` is not enough, shared by the
 * adapters that run on Node's HTTP server (Express, Koa, Fastify).
 * @module
 */
import type { IncomingMessage } from 'node:http';

/** Every value of the header `name` (lower case) as it came, or `undefined` when absent. */
export function rawHeaderValues(req: IncomingMessage, name: string): string[] | undefined {
  const raw = req.rawHeaders;
  if (!Array.isArray(raw)) {
    const value = req.headers[name];
    return value === undefined ? undefined : Array.isArray(value) ? value : [value];
  }
  let found: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) (found ??= []).push(raw[i + 1]!);
  }
  return found;
}
