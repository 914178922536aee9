/**
 * One request's session as every adapter but Express holds it: made when first used (a request
 * without a session cookie that never touches its session costs no session object), committed
 * once before the response headers go out, and never saved again after a save failed.
 * Framework-free: the Fastify, Koa, Web, Hono and Next adapters apply the headers it returns
 * in their own way.
 * @module
 */
import type { Engine, RequestInfo } from '../../core/engine.js';
import type { ResponseHeaders } from '../../core/headers.js';
import type { RequestSession } from '../../core/request-session.js';
import { sessionStatus } from '../../core/status.js';

/** Where the commit of a request stands. */
type Phase =
  /** Nothing sent yet: the session may still change. */
  | 'open'
  /** Saved, and its headers handed to the adapter. */
  | 'committed'
  /** The headers left before the save (a streamed or hijacked response): saved at the end. */
  | 'streamed'
  /** A save failed: the error went to the app, and nothing is saved or sent for the session again. */
  | 'failed';

/** What every request of one adapter instance shares. */
export interface BindingSettings {
  /** Send the cookie on every response that has a session (`rolling`). */
  readonly rolling: boolean;
}

/** A request's session, made on first use, and its commit. */
export class RequestBinding {
  readonly #engine: Engine;
  readonly #info: RequestInfo;
  readonly #settings: BindingSettings;
  readonly #startedAt: number;
  #rs: RequestSession | undefined;
  #phase: Phase = 'open';
  /**
   * A status request: the commit saves nothing (a status poll is not activity and must not keep
   * a session alive); the headers the session owes (a rotated token, a cleared cookie) still go out.
   */
  passive = false;

  /**
   * @param loaded the session the engine loaded for a request that brought a cookie; without
   * one, the session is made (empty, no store call) when first used.
   * @param inert a request outside the cookie's `Path`: the browser never sends the cookie
   * there, so its session is never saved and sets no cookie.
   */
  constructor(engine: Engine, info: RequestInfo, settings: BindingSettings, loaded?: RequestSession, inert = false) {
    this.#engine = engine;
    this.#info = info;
    this.#settings = settings;
    this.#rs = loaded;
    this.#startedAt = loaded === undefined ? engine.options.now() : 0;
    if (inert) this.#phase = 'committed';
  }

  /** What the engine knows of the request. */
  get info(): RequestInfo {
    return this.#info;
  }

  /** Whether the session exists yet (loaded, or made since). A session never made needs no commit. */
  get made(): boolean {
    return this.#rs !== undefined;
  }

  /**
   * The JSON body of a status or keep-alive route for `rs`, this request's session (as the
   * adapter hands it out). A keep-alive is activity: the session is saved now. A status request
   * is not: the commit will save nothing, and still sends what the session owes (a rotated
   * token, a cleared cookie). The body holds no token.
   * @param now the engine's clock (ms since epoch), for the client's clock correction.
   * @throws TesseraError `STORE_UNAVAILABLE` when a keep-alive cannot be saved.
   */
  async statusBody(rs: RequestSession, keepAlive: boolean, now: number): Promise<string> {
    if (keepAlive) await rs.save();
    else this.passive = true;
    return JSON.stringify(sessionStatus(rs, this.#info, now));
  }

  /** The request's session; for a request without a session cookie, made (empty) now. */
  get session(): RequestSession {
    let rs = this.#rs;
    if (rs === undefined) {
      rs = this.#rs = this.#engine.blank(this.#info, this.#startedAt);
      // Made after its headers left (a streamed response): the save must not create a session
      // that no cookie leads to.
      if (this.#phase === 'streamed') rs.responseHeaders(true);
    }
    return rs;
  }

  /** Whether the response still has to get the session's headers. */
  get open(): boolean {
    return this.#phase === 'open';
  }

  /**
   * Save the session, then give the headers the response must carry (`Set-Cookie`,
   * `Cache-Control: no-store`, `Clear-Site-Data`). Once only: later calls give nothing.
   * @throws TesseraError `STORE_UNAVAILABLE`, `WRITE_CONFLICT`, `INVALID_DATA`, `DATA_TOO_LARGE`;
   * after a failure the binding is spent (no retry, no headers).
   */
  async commit(): Promise<ResponseHeaders> {
    if (this.#phase !== 'open') return [];
    const rs = this.#rs;
    if (rs === undefined) {
      this.#phase = 'committed';
      return [];
    }
    rs.responseEnding();
    try {
      if (!this.passive) await rs.save();
    } catch (error) {
      this.#phase = 'failed';
      throw error;
    }
    this.#phase = 'committed';
    if (this.#settings.rolling) rs.resendCookie();
    return rs.responseHeaders();
  }

  /**
   * The headers of a response whose headers leave before the save (a streamed response written
   * straight to the socket): a rotated token decided at load goes out now, a new session is
   * announced if the save will store it. Call {@link finish} when the response ends.
   */
  headersBeforeSave(): ResponseHeaders {
    if (this.#phase !== 'open') return [];
    this.#phase = 'streamed';
    const rs = this.#rs;
    if (rs === undefined) return [];
    if (this.#settings.rolling) rs.resendCookie();
    return rs.responseHeaders(true);
  }

  /**
   * Save a session whose headers went out early ({@link headersBeforeSave}). A no-op in any
   * other phase. @throws as {@link commit}.
   */
  async finish(): Promise<void> {
    if (this.#phase !== 'streamed') return;
    const rs = this.#rs;
    this.#phase = 'committed';
    if (rs === undefined) return;
    rs.responseEnding();
    try {
      await rs.save();
    } catch (error) {
      this.#phase = 'failed';
      throw error;
    }
  }
}
