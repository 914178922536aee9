/**
 * What an adapter under the conformance suite must provide: one app with the routes below,
 * built from framework-neutral handlers ({@link ROUTES}), listening on 127.0.0.1.
 *
 * Routes (every body is JSON):
 * - `GET /plain`: never touches the session;
 * - `GET /whoami`: `{ user, data, isNew }`;
 * - `POST /put?key=&value=`: sets one data key;
 * - `POST /signin?user=`: `signIn(user)`;
 * - `POST /signout`: `signOut()`;
 * - `GET /stream`: `/whoami`'s body, streamed in two chunks with a pause between them;
 * - `GET /form` and `POST /form`: behind the adapter's CSRF guard; GET answers
 *   `{ token: csrfToken() }`, POST `{ accepted: true }`.
 * Errors reach the app's own error handling, which answers `{ error: code }` with the error's
 * status (or 500).
 * @module
 */
import type { RequestSession } from '../../../src/core/request-session.js';
import type { SessionRecord, SetOptions, Store } from '../../../src/store/types.js';
import { MemoryStore } from '../../../src/store/memory.js';
import { RecordingStore } from '../../helpers/recording-store.js';

/** The cookie name every adapter is configured with. */
export const COOKIE = 'sid';
export const SECRET = 'conformance-secret-0123456789-abcdefghijklmnop';
/** The store deadline of the suite, in ms: a hanging store fails after it. */
export const STORE_TIMEOUT = 200;

/** The options an adapter turns into its own: the suite's engine settings. */
export interface ConformanceSettings {
  secret: string;
  store: Store;
  now: () => number;
  /** A store call slower than this fails (ms). */
  storeTimeout: number;
  /** Always `COOKIE`, sent without `Secure` (the suite speaks plain HTTP to 127.0.0.1). */
  cookieName: string;
}

/** A running app. */
export interface RunningApp {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  close(): Promise<void>;
}

/** One adapter, as its test file describes it. */
export interface AdapterUnderTest {
  name: string;
  start(settings: ConformanceSettings): Promise<RunningApp>;
}

/** A framework-neutral route: the session is reached only through `session()`. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  /** Behind the CSRF guard. */
  csrf?: boolean;
  /** Send the body as a stream of two chunks. */
  stream?: boolean;
  run(session: () => RequestSession, query: URLSearchParams, csrfToken: () => string): Promise<unknown>;
}

const whoami = async (session: () => RequestSession): Promise<unknown> => {
  const rs = session();
  return { user: rs.userId, data: rs.data.snapshot(), isNew: rs.isNew };
};

/** The routes every adapter mounts. */
export const ROUTES: readonly Route[] = [
  { method: 'GET', path: '/plain', run: async () => ({ plain: true }) },
  { method: 'GET', path: '/whoami', run: whoami },
  {
    method: 'POST',
    path: '/put',
    run: async (session, query) => {
      session().data.set(query.get('key') ?? 'key', query.get('value') ?? '');
      return { ok: true };
    },
  },
  {
    method: 'POST',
    path: '/signin',
    run: async (session, query) => {
      await session().signIn(query.get('user') ?? 'alice');
      return { ok: true };
    },
  },
  {
    method: 'POST',
    path: '/signout',
    run: async (session) => {
      await session().signOut();
      return { bye: true };
    },
  },
  { method: 'GET', path: '/stream', stream: true, run: whoami },
  { method: 'GET', path: '/form', csrf: true, run: async (_session, _query, token) => ({ token: token() }) },
  { method: 'POST', path: '/form', csrf: true, run: async () => ({ accepted: true }) },
];

/** The two chunks of a streamed body (the pause between them is the adapter's). */
export function chunksOf(body: unknown): [string, string] {
  const text = JSON.stringify(body);
  const half = Math.floor(text.length / 2);
  return [text.slice(0, half), text.slice(half)];
}

/** The body and status the app's error handling answers with for `error`. */
export function errorResponse(error: unknown): { status: number; body: { error: string } } {
  const e = error as { status?: unknown; code?: unknown };
  const status = typeof e.status === 'number' && e.status >= 400 ? e.status : 500;
  return { status, body: { error: typeof e.code === 'string' ? e.code : 'unknown' } };
}

/** A store whose calls can be made to hang or to fail, recording every call. */
export class FlakyStore extends RecordingStore {
  mode: 'ok' | 'hang' | 'fail' = 'ok';

  constructor(now: () => number) {
    super(new MemoryStore({ now }));
  }

  #gate(): Promise<void> {
    if (this.mode === 'hang') return new Promise<void>(() => {});
    if (this.mode === 'fail') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    return Promise.resolve();
  }

  override async get(key: string): Promise<SessionRecord | null> {
    await this.#gate();
    return super.get(key);
  }

  override async set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    await this.#gate();
    return super.set(key, record, options);
  }
}
