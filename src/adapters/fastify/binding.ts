/**
 * One request's session under `tessera/fastify`: the host of `request.session`, the commit in
 * `onSend`, the safety net for replies the app writes itself, and the translation between the
 * plugin's cookie shape and the core's.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readCookie } from '../../core/cookie-reader.js';
import { internals, type Engine, type RequestInfo } from '../../core/engine.js';
import { TesseraError, isTesseraError } from '../../core/errors.js';
import { isLocalhostHeader } from '../../core/request.js';
import type { RequestSession } from '../../core/request-session.js';
import type { RequestBinding } from '../web/binding.js';
import { guardRawResponse } from '../web/raw-response.js';
import { toCoreValue, toPluginValue, type CookieInit } from './cookie.js';
import type { CookieVariants, FastifyCookieOptions } from './options.js';
import { createSessionObject, syncCookie, type SessionHost, type SessionObject } from './session-object.js';

/** Where a request keeps its session state. */
export const STATE = Symbol('tessera.fastify');

export interface Context {
  engine: Engine;
  cookieName: string;
  cookiePrefix: string;
  storeErrorStatus: number;
  variants: CookieVariants;
  settings: { rolling: boolean };
  /**
   * @fastify/session's `saveUninitialized`, applied by the plugin rather than the engine: a new
   * session the app used is stored even when empty.
   */
  saveUninitialized: boolean;
  /**
   * The engine's `tokenHeader`, lower-case, where the header transport reads the session;
   * `undefined` under the cookie transport, which never reads it.
   */
  tokenHeader: string | undefined;
}

export type StatefulRequest = FastifyRequest & { [STATE]: FastifyBinding | null };

/** One request's session: the session object's host and the commit. */
export class FastifyBinding implements SessionHost {
  readonly binding: RequestBinding;
  readonly protocol: string;
  overrides: FastifyCookieOptions | undefined;
  readonly #context: Context;
  readonly #request: Record<string, unknown>;
  readonly #raw: FastifyReply['raw'] | undefined;
  #object: SessionObject | null | undefined;
  /** What the app assigned to `request.session`, if it did. */
  #assigned: { value: unknown } | undefined;
  #saved = false;
  #guarded = false;
  /** The app took the reply over (`reply.hijack()`): Fastify's `onSend` will not run. */
  #hijacked = false;
  /** A commit is waiting for the store. */
  committing = false;
  writeFailed = false;

  constructor(context: Context, request: Record<string, unknown>, raw: FastifyReply['raw'] | undefined, binding: RequestBinding, protocol: string) {
    this.#context = context;
    this.#request = request;
    this.#raw = raw;
    this.binding = binding;
    this.protocol = protocol;

  }

  get rs(): RequestSession {
    const made = this.binding.made;
    const rs = this.binding.session;
    if (!made && this.#hijacked) this.#guard();
    return rs;
  }

  get cookieInit(): CookieInit {
    const base = (this.binding.info.cookieOptions ?? this.#context.engine.options.cookie);
    return { path: base.path, secure: base.secure, sameSite: base.sameSite, domain: base.domain ?? null, partitioned: base.partitioned, httpOnly: true };
  }

  get saved(): boolean {
    return this.#saved;
  }

  /** `request.session`. */
  get object(): unknown {
    if (this.#assigned !== undefined) return this.#assigned.value;
    if (this.#object === undefined) this.#object = createSessionObject(this);
    return this.#object;
  }

  set object(value: unknown) {
    this.#assigned = { value };
  }

  replace(object: SessionObject | null): void {
    this.#object = object;
    this.#assigned = undefined;
    if (!(STATE in this.#request)) this.#request['session'] = object;
  }

  markSaved(): void {
    this.#saved = true;
  }

  async readStore(): Promise<void> {
    const rs = this.rs;
    const gateway = internals(this.#context.engine).gateway;
    await gateway.read(rs.id, this.binding.info, () => rs.ref);
  }

  /** Copy what the session object holds (cookie lifetime, `options(...)`) into the session. */
  prepare(): void {
    if (!this.binding.made) return;
    const rs = this.binding.session;
    if (rs.isNew && this.#context.saveUninitialized) rs.forceWrite();
    // @fastify/session's `rolling` saves the session on every response: its idle deadline moves.
    if (!rs.isNew && this.#context.settings.rolling) rs.touch();
    if (this.#object) syncCookie(this.#object);
    if (this.overrides !== undefined) {
      this.binding.info.cookieOptions = this.#context.variants.forRequest(this.binding.info.secure, this.overrides);
    }
  }

  /** Save and give the headers (`onSend`). */
  async commit(): Promise<Array<[string, string]>> {
    if (!this.binding.made || !this.binding.open || this.writeFailed) return [];
    this.prepare();
    this.committing = true;
    try {
      return await this.binding.commit();
    } catch (error) {
      throw withStatus(error, this.#context.storeErrorStatus);
    } finally {
      this.committing = false;
    }
  }

  /**
   * The app called `reply.hijack()`: from now on the session is committed before `reply.raw`
   * ends (and headers written early carry a rotated token). Only then, since a reply Fastify
   * sends itself is committed in `onSend`: patching every response would cost every request.
   */
  takenOver(): void {
    this.#hijacked = true;
    if (this.binding.made) this.#guard();
  }

  /** The safety net for replies the app writes itself. */
  #guard(): void {
    const raw = this.#raw;
    if (this.#guarded || raw === undefined || raw.writableEnded) return;
    this.#guarded = true;
    guardRawResponse(
      raw,
      this.binding,
      (error, headersSent, respond) => {
        const log = (this.#request as { log?: { error(o: unknown, m: string): void } }).log;
        log?.error({ err: error }, 'tessera: saving the session failed');
        if (headersSent) respond.asTheAppWrote();
        else respond.withStatus(isTesseraError(error) ? (withStatus(error, this.#context.storeErrorStatus) as TesseraError).status : 500);
      },
      () => this.prepare(),
      (headers) => headers.map(([name, value]) => [name, name === 'Set-Cookie' ? pluginSetCookie(this.#context, value) : value]),
    );
  }
}

/** A `STORE_UNAVAILABLE` error with the status the app asked for; any other error as it is. */
export function withStatus(error: unknown, status: number): unknown {
  if (isTesseraError(error, 'STORE_UNAVAILABLE') && error.status !== status) {
    return new TesseraError('STORE_UNAVAILABLE', error.message, { cause: error.cause, status });
  }
  return error;
}

/** RFC 6265 §5.1.4 path-match: the cookie's path is the request's, or a `/`-bounded prefix of it. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/**
 * The engine's view of a Fastify request, with the cookie in the core's format.
 * @param tokenHeader the values of the token header as the hook read them (`undefined` when not read).
 */
export function requestInfo(context: Context, request: FastifyRequest, path: string, inert: boolean, tokenHeader: string[] | undefined): RequestInfo {
  const secure = request.protocol === 'https';
  const userAgent = request.headers['user-agent'];
  return {
    cookie: inert ? undefined : coreCookie(context, request.headers.cookie),
    tokenHeader: inert ? undefined : tokenHeader,
    secure,
    ip: request.ip,
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
    method: request.method,
    path,
    localhost: isLocalhostHeader(request.headers.host),
    cookieOptions: context.variants.forRequest(secure, undefined),
  };
}

/** The `Cookie` header with the session cookie in the core's format (anything odd is left for the core to refuse). */
export function coreCookie(context: Context, header: string | undefined): string | undefined {
  const found = readCookie(header, context.cookieName);
  if (found.kind !== 'present') return header;
  const value = toCoreValue(found.value, context.cookiePrefix);
  return `${context.cookieName}=${encodeURIComponent(value ?? found.value)}`;
}

/**
 * A `Set-Cookie` line of the core with the session cookie's value in the plugin's shape. A
 * clearing cookie is written as @fastify/cookie's `clearCookie` writes it, without `HttpOnly`:
 * it holds no value to protect.
 */
export function pluginSetCookie(context: Context, line: string): string {
  const prefix = `${context.cookieName}=`;
  if (!line.startsWith(prefix)) return line;
  const end = line.indexOf(';');
  const encoded = line.slice(prefix.length, end === -1 ? undefined : end);
  if (encoded === '') return clearingLine(context.cookieName, line);
  const attributes = end === -1 ? '' : line.slice(end);
  // @fastify/session writes a persistent cookie's lifetime as `Expires` only (express-session's
  // `Cookie` has no `Max-Age`); the store enforces the deadline whatever the client's clock says.
  const written = /; Expires=/i.test(attributes) ? attributes.replace(/; Max-Age=\d+/i, '') : attributes;
  return prefix + encodeURIComponent(toPluginValue(decodeURIComponent(encoded), context.cookiePrefix)) + written;
}

/** The order in which @fastify/cookie (the `cookie` package) writes attributes. */
const ATTRIBUTE_ORDER = ['max-age', 'domain', 'path', 'expires', 'secure', 'partitioned', 'priority', 'samesite'];

/** A clearing `Set-Cookie` of the core, written as @fastify/cookie's `clearCookie` writes it (no `HttpOnly`: no value to protect). */
function clearingLine(name: string, line: string): string {
  const attributes = line
    .split(';')
    .slice(1)
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.toLowerCase() !== 'httponly');
  const rank = (part: string): number => {
    const at = ATTRIBUTE_ORDER.indexOf(part.split('=')[0]!.toLowerCase());
    return at === -1 ? ATTRIBUTE_ORDER.length : at;
  };
  return [`${name}=`, ...attributes.sort((a, b) => rank(a) - rank(b))].join('; ');
}

export function applyHeaders(context: Context, reply: FastifyReply, headers: Array<[string, string]>): void {
  for (const [name, value] of headers) {
    if (name === 'Set-Cookie') reply.header('set-cookie', pluginSetCookie(context, value));
    else reply.header(name, value);
  }
}
