/**
 * Hostile and real-world `Cookie` headers against the engine and the Express drop-in.
 *
 * The contract (see src/core/engine.ts and src/core/cookie.ts): whatever the header holds, the
 * request gets a session, never an exception and never a 5xx; a value whose signature does not
 * verify never reaches the store; a malformed, forged, duplicated or oversized value is
 * reported as `invalid_token`; and a valid cookie among any number of unrelated cookies is
 * still found.
 *
 * The expected outcome of every header is computed by {@link expectedOutcome}, a model written
 * from the documented format (RFC 6265 pairs trimmed of SP and HTAB only, the
 * `s:<sid>.<token>.<keyId>.<sig>` format, tessera 0.1's `v1.<token>.<keyId>.<HMAC>`, and
 * express-session's `s:<sid>.<sig>`), which recomputes the HMACs itself. The corpus lines carry a human
 * annotation that is checked against both the model and the implementation.
 *
 * Heavy properties (thousands of runs) call `engine.load()` directly; a few hundred requests go
 * through a real Express app on a loopback socket, written byte for byte so nothing is
 * normalised on the way.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import session, { type SessionMiddleware } from '../../src/adapters/express/index.js';
import { createSessions, type Engine, type LegacySource } from '../../src/core/engine.js';
import type { InvalidTokenReason, SessionEvent } from '../../src/core/events.js';
import type { KeyDefinition } from '../../src/core/keyring.js';
import type { RequestSession } from '../../src/core/request-session.js';
import type { ExpressSessionStore, StoredSession, Callback } from '../../src/store/legacy.js';
import { LegacyStore } from '../../src/store/legacy.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { DeleteByUserOptions, SessionRecord, SetOptions, Store, UserSessionEntry } from '../../src/store/types.js';

// ---------------------------------------------------------------------------------------------
// Keys, clock, cookie name
// ---------------------------------------------------------------------------------------------

const NAME = 'connect.sid';
/** A fixed clock: no request is ever old enough to need a touch, so a valid read is one `get`. */
const T0 = Date.now();
const now = (): number => T0;

const SECRET_K2 = 'fuzz-signing-secret-k2-0123456789-abcdefghijkl';
const SECRET_K1 = 'fuzz-older-secret-k1-9876543210-zyxwvutsrqpon';
const SECRET_K0 = 'fuzz-retired-secret-k0-00000000000000000000000';
const WEAK = 'keyboard cat';
/**
 * k2 signs; k1 still verifies; `weak` (express-session's old secret) verifies `s:` values only,
 * as in production (the engines are built under NODE_ENV=production).
 */
const RING: KeyDefinition[] = [
  { id: 'k2', secret: SECRET_K2 },
  { id: 'k1', secret: SECRET_K1 },
  { id: 'weak', secret: WEAK },
];
/** Model: the keys allowed to verify tokens, and every secret that verifies express-session values. */
const TOKEN_SECRETS = new Map([
  ['k2', SECRET_K2],
  ['k1', SECRET_K1],
]);
const LEGACY_SECRETS = [SECRET_K2, SECRET_K1, WEAK];
const MAX_HEADER = 16 * 1024;
const MAX_VALUE = 512;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const hmac = (secret: string, payload: string): string => createHmac('sha256', secret).update(payload).digest('base64url');
const legacySignature = (secret: string, sid: string): string =>
  createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '');
const storeKey = (token: string): string => createHash('sha256').update(token).digest('base64url');

// ---------------------------------------------------------------------------------------------
// Stores that count calls
// ---------------------------------------------------------------------------------------------

/** Every call a store received, as `op:key`. */
type CallLog = string[];

/** A tessera Store that logs each call and delegates to a MemoryStore. */
class CountingStore implements Store {
  readonly calls: CallLog = [];
  readonly #inner = new MemoryStore({ now, sweepIntervalMs: 0, maxEntries: 1_000_000 });

  get(key: string): Promise<SessionRecord | null> {
    this.calls.push(`get:${key}`);
    return this.#inner.get(key);
  }
  set(key: string, record: SessionRecord, options?: SetOptions): Promise<boolean> {
    this.calls.push(`set:${key}`);
    return this.#inner.set(key, record, options);
  }
  delete(key: string): Promise<void> {
    this.calls.push(`delete:${key}`);
    return this.#inner.delete(key);
  }
  touch(key: string, lastSeenAt: number, expiresAt: number): Promise<boolean> {
    this.calls.push(`touch:${key}`);
    return this.#inner.touch(key, lastSeenAt, expiresAt);
  }
  listByUser(userId: string): Promise<UserSessionEntry[]> {
    this.calls.push(`listByUser:${userId}`);
    return this.#inner.listByUser(userId);
  }
  deleteByUser(userId: string, options?: DeleteByUserOptions): Promise<number> {
    this.calls.push(`deleteByUser:${userId}`);
    return this.#inner.deleteByUser(userId, options);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** An express-session store (callback API) over a Map, logging each call. */
class CountingExpressStore implements ExpressSessionStore {
  readonly calls: CallLog = [];
  readonly sessions = new Map<string, string>();

  get(sid: string, callback: Callback<StoredSession | null>): void {
    this.calls.push(`get:${sid}`);
    const text = this.sessions.get(sid);
    callback(null, text === undefined ? null : (JSON.parse(text) as StoredSession));
  }
  set(sid: string, value: StoredSession, callback?: Callback): void {
    this.calls.push(`set:${sid}`);
    this.sessions.set(sid, JSON.stringify(value));
    callback?.();
  }
  destroy(sid: string, callback?: Callback): void {
    this.calls.push(`destroy:${sid}`);
    this.sessions.delete(sid);
    callback?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Minted cookies
// ---------------------------------------------------------------------------------------------

/** What a context (a store plus its sessions) knows, and the corpus placeholders. */
interface Minted {
  values: Record<string, string>;
  /** Session ids with a session in the store, and the `owner` stored in each. */
  owners: Map<string, string>;
  /** express-session ids with a session in the legacy store. */
  legacySids: Set<string>;
}

function cookieValueOf(headers: ReadonlyArray<[string, string]>): string {
  const header = headers.find(([name]) => name.toLowerCase() === 'set-cookie')?.[1] ?? '';
  const match = new RegExp(`^${NAME.replace('.', '\\.')}=([^;]+)`).exec(header);
  if (!match?.[1]) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return match[1];
}

/** Create a stored session holding `{ owner }` with a throwaway engine; return its cookie value. */
async function mintSession(store: Store, secret: KeyDefinition[], owner: string): Promise<string> {
  const engine = createSessions({ secret, store, now, cookie: { name: NAME, secure: false }, allowInsecureCookie: true });
  const rs = await engine.load({ cookie: undefined, secure: false });
  rs.data.set('owner', owner);
  await rs.save();
  return cookieValueOf(rs.responseHeaders());
}

/** A format-2 value for (sid, token) signed with `secret` under `kid`, computed independently. */
const signV2 = (sid: string, token: string, kid: string, secret: string): string =>
  `s:${sid}.${token}.${kid}.${legacySignature(secret, `${sid}.${token}.${kid}`)}`;

/** `[sid, token, kid, sig]` of a format-2 cookie value as the server set it (percent-encoded). */
const partsOf = (value: string): [string, string, string, string] =>
  decodeURIComponent(value).slice(2).split('.') as [string, string, string, string];

/**
 * A session stored the way tessera 0.1 stored it (under SHA-256 of its one token, with no token
 * state), and its 0.1 cookie value `v1.<token>.k2.<HMAC>`.
 */
async function mintV1Session(store: Store, owner: string): Promise<{ token: string; value: string }> {
  const token = randomBytes(32).toString('base64url');
  const record: SessionRecord = {
    version: 1, createdAt: T0, authenticatedAt: null, lastSeenAt: T0, expiresAt: T0 + 3_600_000,
    userId: null, data: { owner }, meta: {},
  };
  await store.set(storeKey(token), record, { expectVersion: null });
  return { token, value: `v1.${token}.k2.${hmac(SECRET_K2, `v1.${token}.k2`)}` };
}

/** Mint the cookies of every kind into `store`; the legacy session goes wherever `seedLegacy` puts it. */
async function mintAll(store: Store, seedLegacy: (sid: string) => void): Promise<Minted> {
  const valid = await mintSession(store, RING, 'valid');
  const old = await mintSession(store, [RING[1]!, RING[0]!], 'old');
  const retired = await mintSession(store, [{ id: 'k0', secret: SECRET_K0 }], 'retired');
  // A stored session whose value is "signed" by the weak secret, which must never verify tokens.
  const weakValue = await mintSession(store, [{ id: 'x', secret: SECRET_K2 }], 'weak');
  const [weakSid, weakToken] = partsOf(weakValue);
  const weak = signV2(weakSid, weakToken, 'weak', WEAK);
  const unknown = signV2(randomBytes(16).toString('base64url'), randomBytes(32).toString('base64url'), 'k2', SECRET_K2);
  const v1 = await mintV1Session(store, 'v1');
  const lsid = randomBytes(24).toString('base64url');
  const lsig = legacySignature(WEAK, lsid);
  seedLegacy(lsid);
  const [sid, token, kid, sig] = partsOf(valid);
  const [osid, otoken, okid, osig] = partsOf(old);
  const owners = new Map<string, string>([[v1.token, 'v1']]);
  for (const [value, owner] of [[valid, 'valid'], [old, 'old'], [retired, 'retired'], [weakValue, 'weak']] as const) {
    owners.set(partsOf(value)[0], owner);
  }
  return {
    values: {
      valid, sid, token, kid, sig, old, osid, otoken, okid, osig, retired, weak, unknown, v1valid: v1.value,
      legacy: `s:${lsid}.${lsig}`, legacyEnc: encodeURIComponent(`s:${lsid}.${lsig}`), lsid, lsig,
    },
    owners,
    legacySids: new Set([lsid]),
  };
}

// ---------------------------------------------------------------------------------------------
// The model: what a header must lead to
// ---------------------------------------------------------------------------------------------

type Expected =
  | { kind: 'absent' }
  | { kind: 'invalid'; reason: InvalidTokenReason }
  | { kind: 'unknown'; key: string }
  | { kind: 'valid'; key: string; owner: string; resign: boolean }
  | { kind: 'legacy'; sid: string; found: boolean };

/** Trim SP and HTAB only (RFC 6265bis §5.6), never NBSP, CR or LF. */
const owsTrim = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, '');

/** RFC 6265 §5.4 pairs; name and value are trimmed of SP/HTAB; our name twice is refused; so is a long header. */
function lookup(
  header: string | readonly string[] | undefined,
): { kind: 'absent' } | { kind: 'invalid'; reason: 'duplicate' | 'oversized' | 'malformed' } | { kind: 'present'; value: string } {
  if (header === undefined) return { kind: 'absent' };
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length > MAX_HEADER) return { kind: 'invalid', reason: 'oversized' };
  const values: string[] = [];
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && owsTrim(pair.slice(0, eq)) === NAME) values.push(owsTrim(pair.slice(eq + 1)));
  }
  if (values.length === 0) return { kind: 'absent' };
  if (values.length > 1) return { kind: 'invalid', reason: 'duplicate' };
  let value = values[0]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  try {
    return { kind: 'present', value: value.includes('%') ? decodeURIComponent(value) : value };
  } catch {
    return { kind: 'invalid', reason: 'malformed' };
  }
}

function expectedOutcome(header: string | readonly string[] | undefined, minted: Minted, legacy: boolean): Expected {
  const found = lookup(header);
  if (found.kind !== 'present') return found;
  const value = found.value;
  if (value.length > MAX_VALUE) return { kind: 'invalid', reason: 'malformed' };
  const parts = value.startsWith('s:') ? value.slice(2).split('.') : value.split('.');
  const ours = value.startsWith('s:') && parts.length === 4 && /^(?:[A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{43})$/.test(parts[0]!) && /^[A-Za-z0-9_-]{43}$/.test(parts[1]!);
  if (legacy && value.startsWith('s:') && !ours) {
    const dot = value.lastIndexOf('.');
    if (dot <= 2) return { kind: 'invalid', reason: 'malformed' };
    const sid = value.slice(2, dot);
    const signature = value.slice(dot + 1);
    if (!LEGACY_SECRETS.some((secret) => legacySignature(secret, sid) === signature)) {
      return { kind: 'invalid', reason: 'bad_signature' };
    }
    return { kind: 'legacy', sid, found: minted.legacySids.has(sid) };
  }
  let sid: string;
  let token: string;
  let format: 1 | 2;
  if (ours) {
    [sid, token] = parts as [string, string];
    format = 2;
  } else if (value.startsWith('v1.') && parts.length === 4 && /^[A-Za-z0-9_-]{43}$/.test(parts[1]!)) {
    token = sid = parts[1]!;
    format = 1;
  } else {
    return { kind: 'invalid', reason: 'malformed' };
  }
  const kid = parts[2]!;
  const signature = parts[3]!;
  const secret = TOKEN_SECRETS.get(kid);
  if (secret === undefined) return { kind: 'invalid', reason: 'unknown_key' };
  const expected = format === 2 ? legacySignature(secret, `${sid}.${token}.${kid}`) : hmac(secret, `v1.${token}.${kid}`);
  if (expected !== signature) return { kind: 'invalid', reason: 'bad_signature' };
  const owner = minted.owners.get(sid);
  // Sessions are stored under their id; a tessera 0.1 session (43-character id) under its hash.
  const key = sid.length === 43 ? storeKey(sid) : sid;
  if (owner === undefined) return { kind: 'unknown', key };
  return { kind: 'valid', key, owner, resign: kid !== 'k2' || format === 1 };
}

// ---------------------------------------------------------------------------------------------
// Observations and the checks every header must pass
// ---------------------------------------------------------------------------------------------

interface Observation {
  /** Store calls (and legacy reads) made while the session was loaded. */
  loadCalls: CallLog;
  /** Store calls made by the save at the end of the request. */
  saveCalls: CallLog;
  events: SessionEvent[];
  isNew: boolean;
  owner: unknown;
  setCookies: string[];
}

const isClearing = (setCookie: string): boolean =>
  setCookie.startsWith(`${NAME}=;`) && /Expires=Thu, 01 Jan 1970 00:00:00 GMT/.test(setCookie);

const EVENT_FIELDS = new Set(['type', 'time', 'sessionRef', 'userId', 'ip', 'userAgent', 'method', 'path', 'reason']);

/** Assert that an observation is what the model says, and that nothing unsafe happened. */
function check(observation: Observation, expected: Expected, minted: Minted): void {
  const { loadCalls, saveCalls, events, isNew, owner, setCookies } = observation;
  const invalidEvents = events.filter((event) => event.type === 'invalid_token');
  // Events never carry a token or a signature (they name a session by an HMAC reference).
  const eventText = JSON.stringify(events);
  for (const secretPart of ['sid', 'token', 'sig', 'osid', 'otoken', 'osig', 'lsig']) {
    expect(eventText).not.toContain(minted.values[secretPart]);
  }
  expect(events.flatMap((event) => Object.keys(event).filter((field) => !EVENT_FIELDS.has(field)))).toEqual([]);
  const setting = setCookies.filter((value) => !isClearing(value));
  switch (expected.kind) {
    case 'absent':
      expect({ loadCalls, saveCalls, events, isNew, setCookies }).toEqual({
        loadCalls: [], saveCalls: [], events: [], isNew: true, setCookies: [],
      });
      return;
    case 'invalid':
      expect({ loadCalls, saveCalls, isNew, setting }).toEqual({ loadCalls: [], saveCalls: [], isNew: true, setting: [] });
      expect(events.map((event) => event.type)).toEqual(['invalid_token']);
      expect(invalidEvents[0]).toMatchObject({ reason: expected.reason, sessionRef: null, userId: null });
      return;
    case 'unknown':
      expect({ loadCalls, saveCalls, isNew, setting }).toEqual({
        loadCalls: [`get:${expected.key}`], saveCalls: [], isNew: true, setting: [],
      });
      // tessera issued this cookie: its session ended, which is not an attack.
      expect(events.map((event) => event.type)).toEqual(['stale_cookie']);
      return;
    case 'valid':
      expect({ loadCalls, saveCalls, events, isNew, owner }).toEqual({
        loadCalls: [`get:${expected.key}`], saveCalls: [], events: [], isNew: false, owner: expected.owner,
      });
      if (expected.resign) {
        expect(setting).toHaveLength(1);
        expect(setting[0]).toMatch(new RegExp(`^${NAME.replace('.', '\\.')}=s%3A(?:[A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{43})\\.[A-Za-z0-9_-]{43}\\.k2\\.`));
      } else {
        expect(setCookies).toEqual([]);
      }
      return;
    case 'legacy':
      expect(loadCalls).toEqual([`get:${expected.sid}`]);
      if (expected.found) {
        expect({ invalidEvents, isNew, owner }).toEqual({ invalidEvents: [], isNew: true, owner: 'legacy' });
        // The migrated data becomes a tessera session under a fresh cookie.
        expect(setting).toHaveLength(1);
        expect(saveCalls).toContain(`destroy:${expected.sid}`);
      } else {
        expect({ saveCalls, isNew, setting }).toEqual({ saveCalls: [], isNew: true, setting: [] });
        expect(events.map((event) => event.type)).toEqual(['stale_cookie']);
      }
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Engine level
// ---------------------------------------------------------------------------------------------

interface EngineContext {
  store: CountingStore;
  legacyCalls: CallLog;
  events: SessionEvent[];
  plain: Engine;
  migrating: Engine;
  minted: Minted;
}

async function createEngineContext(): Promise<EngineContext> {
  const store = new CountingStore();
  const legacyCalls: CallLog = [];
  const legacySessions = new Map<string, string>();
  const events: SessionEvent[] = [];
  const source: LegacySource = {
    async load(sid) {
      legacyCalls.push(`get:${sid}`);
      const owner = legacySessions.get(sid);
      return owner === undefined ? null : { owner };
    },
    async remove(sid) {
      // Recorded, not performed: the same legacy session serves every run.
      legacyCalls.push(`destroy:${sid}`);
    },
  };
  const options = {
    secret: RING,
    store,
    now,
    onEvent: (event: SessionEvent) => void events.push(event),
    cookie: { name: NAME, secure: false },
    allowInsecureCookie: true,
  };
  const minted = await mintAll(store, (sid) => legacySessions.set(sid, 'legacy'));
  store.calls.length = 0;
  return { store, legacyCalls, events, plain: createSessions(options), migrating: createSessions(options, { legacy: source }), minted };
}

/** Load a session for `header` as an adapter would, end the request (save), and record everything. */
async function observeEngine(ctx: EngineContext, engine: Engine, header: string | readonly string[] | undefined): Promise<Observation> {
  ctx.store.calls.length = 0;
  ctx.legacyCalls.length = 0;
  ctx.events.length = 0;
  const rs = await engine.load({ cookie: header, secure: false, method: 'GET', path: '/fuzz', ip: '127.0.0.1' });
  const loadCalls = [...ctx.store.calls, ...ctx.legacyCalls];
  const isNew = rs.isNew;
  const owner = rs.data.get('owner');
  ctx.store.calls.length = 0;
  ctx.legacyCalls.length = 0;
  await rs.save();
  const saveCalls = [...ctx.store.calls, ...ctx.legacyCalls];
  const setCookies = rs.responseHeaders().filter(([name]) => name.toLowerCase() === 'set-cookie').map(([, value]) => value);
  return { loadCalls, saveCalls, events: [...ctx.events], isNew, owner, setCookies };
}

/** Run `header` through both engines (without and with express-session migration) and check each. */
async function checkEngine(ctx: EngineContext, header: string | readonly string[] | undefined): Promise<void> {
  check(await observeEngine(ctx, ctx.plain, header), expectedOutcome(header, ctx.minted, false), ctx.minted);
  check(await observeEngine(ctx, ctx.migrating, header), expectedOutcome(header, ctx.minted, true), ctx.minted);
}

// ---------------------------------------------------------------------------------------------
// HTTP level: an Express app on a loopback port, raw bytes on a socket
// ---------------------------------------------------------------------------------------------

interface HttpApp {
  path: string;
  legacy: boolean;
  calls: CallLog;
  minted: Minted;
  reseed(): void;
}

interface HttpContext {
  server: http.Server;
  port: number;
  events: SessionEvent[];
  errors: unknown[];
  tessera: HttpApp;
  migrating: HttpApp;
}

interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

/** The body the fuzz route answers. */
interface Echo {
  cookie: string | null;
  isNew: boolean;
  owner: unknown;
  callsBeforeHandler: number;
}

/** The fuzzed apps speak plain HTTP on loopback, so their cookies are not `Secure`. */
const PLAIN_HTTP = { cookie: { secure: false }, allowInsecureCookie: true } as const;

async function createHttpContext(): Promise<HttpContext> {
  const events: SessionEvent[] = [];
  const errors: unknown[] = [];
  const onEvent = (event: SessionEvent): void => void events.push(event);
  const app = express();

  // tessera/express with a tessera store.
  const tesseraStore = new CountingStore();
  const tesseraSessions: SessionMiddleware = session({ secret: RING, name: NAME, store: tesseraStore, now, onEvent, ...PLAIN_HTTP });
  // tessera/express over an express-session store: old `s:` cookies are migrated.
  const expressStore = new CountingExpressStore();
  const migratingSessions: SessionMiddleware = session({ secret: RING, name: NAME, store: expressStore, now, onEvent, ...PLAIN_HTTP });

  const echo = (calls: CallLog) => (req: Request, res: Response) => {
    const rs = (req as unknown as { tessera: RequestSession }).tessera;
    const body: Echo = { cookie: req.headers.cookie ?? null, isNew: rs.isNew, owner: rs.data.get('owner') ?? null, callsBeforeHandler: calls.length };
    res.json(body);
  };
  app.use('/t', tesseraSessions, echo(tesseraStore.calls));
  app.use('/l', migratingSessions, echo(expressStore.calls));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    errors.push(error);
    res.status(500).end();
  });

  // Cookies above Node's default 16 KiB header limit must reach the adapter too.
  const server = http.createServer({ maxHeaderSize: 1024 * 1024 }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const seedLegacy = (sid: string): void => {
    expressStore.sessions.set(sid, JSON.stringify({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, owner: 'legacy' }));
  };
  const tesseraMinted = await mintAll(tesseraStore, () => undefined);
  tesseraMinted.legacySids.clear();
  const legacyMinted = await mintAll(new LegacyStore(expressStore, { now }), seedLegacy);
  return {
    server,
    port,
    events,
    errors,
    tessera: { path: '/t/fuzz', legacy: false, calls: tesseraStore.calls, minted: tesseraMinted, reseed: () => undefined },
    migrating: {
      path: '/l/fuzz',
      legacy: true,
      calls: expressStore.calls,
      minted: legacyMinted,
      reseed: () => legacyMinted.legacySids.forEach(seedLegacy),
    },
  };
}

/** One request on a fresh socket: each `Cookie` line is written as the exact bytes given. */
function rawRequest(port: number, path: string, cookieLines: readonly Buffer[]): Promise<RawResponse> {
  const request = Buffer.concat([
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: tessera-fuzz\r\n`, 'latin1'),
    ...cookieLines.flatMap((line) => [Buffer.from('Cookie: ', 'latin1'), line, Buffer.from('\r\n', 'latin1')]),
    Buffer.from('Connection: close\r\n\r\n', 'latin1'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // the server may close while we still write; 'close' follows
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (split === -1 || !status?.[1]) {
        reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const headers = text
        .slice(0, split)
        .split('\r\n')
        .slice(1)
        .map((line): [string, string] => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]);
      resolve({ status: Number(status[1]), headers, body: Buffer.from(text.slice(split + 4), 'latin1').toString('utf8') });
    });
    socket.end(request);
  });
}

/** Whether Node's HTTP parser refuses these header bytes (CTLs but tab, and DEL): it answers 400. */
function refusedByNode(wire: string): boolean {
  return [...wire].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && code !== 0x09) || code === 0x7f;
  });
}

/** The header string the app sees for these lines: latin1, edges trimmed, lines joined by `; `. */
function nodeView(lines: readonly Buffer[]): string {
  return lines.map((line) => line.toString('latin1').replace(/^[ \t]+|[ \t]+$/g, '')).join('; ');
}

/**
 * Send `lines` to an app and check: no 5xx, no error reached Express; a request Node refuses
 * (400) touched nothing; a request it accepts saw exactly these bytes and behaved as the model
 * says. Returns the outcome for callers that assert more.
 */
async function checkHttp(ctx: HttpContext, target: HttpApp, lines: readonly Buffer[]): Promise<Expected | 'refused'> {
  target.calls.length = 0;
  ctx.events.length = 0;
  ctx.errors.length = 0;
  target.reseed();
  const response = await rawRequest(ctx.port, target.path, lines);
  expect(ctx.errors).toEqual([]);
  expect(response.status).toBeLessThan(500);
  const wire = Buffer.concat(lines).toString('latin1');
  if (response.status !== 200) {
    expect(refusedByNode(wire), `status ${response.status} for an acceptable header`).toBe(true);
    expect(response.status).toBe(400);
    // CR or LF in the bytes re-frames the request (an extra header line, or an early end of the
    // headers followed by a second, broken request), so the app may have seen a first request.
    if (!/[\r\n]/.test(wire)) expect({ calls: target.calls, events: ctx.events }).toEqual({ calls: [], events: [] });
    return 'refused';
  }
  const echo = JSON.parse(response.body) as Echo;
  if (!refusedByNode(wire)) expect(echo.cookie).toBe(nodeView(lines));
  const seen = echo.cookie ?? undefined;
  const expected = expectedOutcome(seen, target.minted, target.legacy);
  const setCookies = response.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value);
  const loadCalls = target.calls.slice(0, echo.callsBeforeHandler);
  const saveCalls = target.calls.slice(echo.callsBeforeHandler);
  const observation = { loadCalls, saveCalls, events: [...ctx.events], isNew: echo.isNew, owner: echo.owner ?? undefined, setCookies };
  check(observation, expected, target.minted);
  return expected;
}

// ---------------------------------------------------------------------------------------------
// The corpus
// ---------------------------------------------------------------------------------------------

type Annotation = 'absent' | 'valid' | 'resigned' | 'valid-legacy' | 'unknown' | `invalid:${string}`;

interface CorpusLine {
  line: number;
  source: string;
  /** Without and with express-session migration. */
  annotation: [Annotation, Annotation];
}

function readCorpus(): CorpusLine[] {
  const text = readFileSync(new URL('../fixtures/cookie-headers.txt', import.meta.url), 'utf8');
  const lines: CorpusLine[] = [];
  let annotation: [Annotation, Annotation] | undefined;
  text.split('\n').forEach((source, index) => {
    if (source.startsWith('#@')) {
      const [plain = '', migrating = plain] = source.slice(2).split('|').map((part) => part.trim());
      annotation = [plain as Annotation, migrating as Annotation];
    } else if (source.trim() !== '' && !source.startsWith('#')) {
      if (annotation === undefined) throw new Error(`line ${index + 1}: header before any #@ annotation`);
      lines.push({ line: index + 1, source, annotation });
    }
  });
  return lines;
}

/** Fill in placeholders, then turn `\xNN` into raw bytes and other text into UTF-8. */
function expand(source: string, values: Record<string, string>): Buffer {
  const text = source
    .replace(/\$\{rep:(\d+):([^}]*)\}/g, (_, count: string, unit: string) => unit.repeat(Number(count)))
    .replace(/\$\{(\w+)(?:\[(-?\d*):(-?\d*)\])?\}/g, (_, name: string, from?: string, to?: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`unknown placeholder \${${name}}`);
      return from === undefined ? value : value.slice(from === '' ? 0 : Number(from), to === '' || to === undefined ? undefined : Number(to));
    });
  const bytes: Buffer[] = [];
  let last = 0;
  for (const match of text.matchAll(/\\x([0-9a-fA-F]{2})/g)) {
    bytes.push(Buffer.from(text.slice(last, match.index), 'utf8'), Buffer.from([parseInt(match[1]!, 16)]));
    last = match.index + match[0].length;
  }
  bytes.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(bytes);
}

function annotationOf(expected: Expected): Annotation {
  switch (expected.kind) {
    case 'absent':
    case 'unknown':
      return expected.kind;
    case 'invalid':
      return `invalid:${expected.reason}`;
    case 'valid':
      return expected.resign ? 'resigned' : 'valid';
    case 'legacy':
      return expected.found ? 'valid-legacy' : 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

const char = (chars: string): fc.Arbitrary<string> => fc.constantFrom(...chars.split(''));
/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
/** What Node's parser lets through in a header value: tab, printable ASCII, bytes 0x80-0xFF. */
const wireUnit = fc.oneof(
  { weight: 1, arbitrary: fc.constant('\t') },
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((n) => String.fromCharCode(n)) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((n) => String.fromCharCode(n)) },
);
/** Characters that matter to a cookie parser, the signature format, or to JavaScript. */
const nastyChar = fc.constantFrom(
  ...'=;"%\\., \t+/:-_'.split(''),
  '\0', '\r', '\n', '\x0b', '\x7f', '\u00a0', '\u0085', '\u2028', '\ufeff', '\ud800', '\udfff', '\uffff', 'é', '🍪',
);
const wireNasty = fc.constantFrom(...'=;"%\\., \t+/:-_'.split(''), '\u00a0', '\u00e9', '\u00ff');

/** A few characters (at least one) built from `unit`, to graft onto values. */
function junk(unit: fc.Arbitrary<string>, maxLength = 8): fc.Arbitrary<string> {
  return fc.string({ unit, minLength: 1, maxLength });
}

/** Names that other cookies (never ours) use. */
function foreignName(unit: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constantFrom(
        '_ga', '_gid', '__utma', '_fbp', 'lang', '__proto__', 'constructor', 'prototype', 'hasOwnProperty',
        '__proto__[admin]', 'constructor.prototype.admin', '', ' ', '__Host-sid', '__Secure-sid', 'sid',
        'connect.sid.sig', 'connect.sidx', 'xconnect.sid', 'Connect.sid', 'CONNECT.SID', 'connect%2Esid',
        '"connect.sid"', 'connect .sid', 'connect_sid',
      ),
      fc.string({ unit: unit.filter((c) => c !== ';' && c !== '='), maxLength: 12 }),
    )
    .filter((name) => name.trim() !== NAME);
}

/** A value of another cookie: realistic shapes and junk, never containing `;`. */
function foreignValue(unit: fc.Arbitrary<string>, values: Record<string, string>): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      'GA1.2.1234567890.1700000000', '{"a":[1,2],"b":"c"}', '"quoted value"', '""', '"', '%E0%A4%A', '%', '%zz',
      'a=b=c', 'dGVzdA==', 'v1.a.b.c', 's%3Aabc.def', '', 'x'.repeat(300),
      values['valid']!, values['old']!, values['legacy']!, values['legacyEnc']!, values['unknown']!, values['sig']!,
    ),
    fc.string({ unit: unit.filter((c) => c !== ';'), maxLength: 40 }),
  );
}

/** `name=value` or a bare name, from another site or script. */
function foreignPair(unit: fc.Arbitrary<string>, values: Record<string, string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(foreignName(unit), foreignValue(unit, values)).map(([name, value]) => `${name}=${value}`) },
    { weight: 1, arbitrary: foreignName(unit) },
  );
}

const separator = fc.constantFrom(';', '; ', ' ; ', ';;', ';\t', '; ;');

function joinPairs(pairs: readonly string[], seps: readonly string[]): string {
  return pairs.map((pair, index) => (index === 0 ? pair : `${seps[index % seps.length] ?? '; '}${pair}`)).join('');
}

/** A tessera-looking value assembled from real and broken parts. */
function forgedValue(values: Record<string, string>, unit: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const { sid, token, sig, osid, otoken, osig, lsid, lsig } = values as Record<'sid' | 'token' | 'sig' | 'osid' | 'otoken' | 'osig' | 'lsid' | 'lsig', string>;
  const part = (real: readonly string[]): fc.Arbitrary<string> =>
    fc.oneof(
      fc.constantFrom(...real),
      fc.string({ unit: char(B64URL), minLength: 40, maxLength: 46 }),
      fc.tuple(fc.constantFrom(...real), fc.nat(), junk(unit, 2)).map(([r, at, j]) => r.slice(0, at % (r.length + 1)) + j + r.slice((at % (r.length + 1)) + 1)),
      junk(unit, 6),
    );
  const sidPart = fc.oneof(
    fc.constantFrom(sid!, osid!, token!),
    fc.string({ unit: char(B64URL), minLength: 20, maxLength: 24 }),
    junk(unit, 4),
  );
  const tessera = fc
    .tuple(
      fc.constantFrom('s:', 's:', 's:', 's%3A', 'S:', 'v1.', 'v2.', '', 's:s:', ' s:'),
      fc.option(sidPart, { nil: undefined, freq: 4 }),
      part([token!, otoken!]),
      fc.oneof(fc.constantFrom('k2', 'k1', 'k0', 'K2', 'weak', '__proto__', 'constructor', 'toString', '', 'k2 '), junk(unit, 4)),
      part([sig!, osig!]),
      fc.array(junk(unit, 4), { maxLength: 2 }),
    )
    .map(([version, i, t, kid, s, extra]) => version + [...(i === undefined ? [] : [i]), t, kid, s, ...extra].join('.'));
  const legacy = fc
    .tuple(fc.constantFrom('s:', 's%3A', 's%3a', 'S:', ''), part([lsid!]), part([lsig!, sig!]))
    .map(([prefix, sid, s]) => `${prefix}${sid}.${s}`);
  return fc.oneof(tessera, legacy);
}

/** Our cookie with arbitrary whitespace, quotes or percent-encoding around a value. */
function ourPair(value: fc.Arbitrary<string>, ws: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(ws, ws, ws, ws, value, fc.boolean())
    .map(([a, b, c, d, v, quote]) => `${a}${NAME}${b}=${c}${quote ? `"${v}"` : v}${d}`);
}

const spaces = fc.constantFrom('', '', ' ', '  ', '\t', ' \t ');

/** How a valid value can be changed: `percent`, `none` (and no-op flips or key ids) keep it valid; the others break it. */
type Mutation =
  | { kind: 'flip'; at: number; to: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; text: string; front: boolean }
  | { kind: 'recase'; mask: number }
  | { kind: 'kid'; kid: string }
  | { kind: 'version'; version: string }
  | { kind: 'swap' }
  | { kind: 'percent'; mask: number; lower: boolean }
  | { kind: 'none' };

function mutation(unit: fc.Arbitrary<string>, nasty: fc.Arbitrary<string>): fc.Arbitrary<Mutation> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), to: fc.oneof(nasty, char(B64URL), unit) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), text: junk(fc.oneof(char(B64URL), nasty, unit).filter((c) => c.trim() === c && c !== ';'), 6), front: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('recase' as const), mask: fc.integer({ min: 1 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('kid' as const), kid: fc.oneof(fc.constantFrom('k0', 'k1', 'k2', 'K2', 'k', 'weak', '__proto__', 'constructor', 'prototype', 'valueOf', '', 'k2 ', 'k2\0'), junk(unit, 4)) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('version' as const), version: fc.constantFrom('v1', 'V2', 'v3', '', 'S', 'S%3A', 's:s%3A') }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'swap' as const }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('percent' as const), mask: fc.integer({ min: 1 }), lower: fc.boolean() }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
}

/** Apply a mutation. `breaking`: the result must not verify; otherwise it must still verify. */
function mutate(encoded: string, m: Mutation, other: string): { value: string; breaking: boolean } {
  // Mutate the value as the cookie reader sees it once decoded (a recased "%3A" is still ":").
  const value = decodeURIComponent(encoded);
  const parts = value.split('.');
  switch (m.kind) {
    case 'flip': {
      const at = m.at % value.length;
      return { value: value.slice(0, at) + m.to + value.slice(at + 1), breaking: m.to !== value[at] };
    }
    case 'truncate':
      return { value: value.slice(0, m.at % value.length), breaking: true };
    case 'extend':
      return { value: m.front ? m.text + value : value + m.text, breaking: true };
    case 'recase': {
      const letters = [...value].map((c, i) => [c, i] as const).filter(([c]) => c.toLowerCase() !== c.toUpperCase());
      const pick = letters[m.mask % letters.length]!;
      const flipped = pick[0] === pick[0].toLowerCase() ? pick[0].toUpperCase() : pick[0].toLowerCase();
      return { value: value.slice(0, pick[1]) + flipped + value.slice(pick[1] + 1), breaking: true };
    }
    case 'kid': {
      if (value.startsWith('s:')) return { value, breaking: false };
      const at = parts.length - 2;
      return { value: [...parts.slice(0, at), m.kid, parts[at + 1]!].join('.'), breaking: m.kid !== parts[at] };
    }
    case 'version':
      if (value.startsWith('s:')) return { value: `${m.version}${value.slice(1)}`, breaking: true };
      return { value: [m.version, ...parts.slice(1)].join('.'), breaking: true };
    case 'swap': {
      const otherParts = other.split('.');
      const swapped = [...parts.slice(0, -1), otherParts[otherParts.length - 1]].join('.');
      return { value: swapped, breaking: swapped !== value };
    }
    case 'percent': {
      const percent = [...value]
        .map((c, i) => {
          if (((m.mask >>> (i % 31)) & 1) === 0) return c;
          const hex = `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
          return m.lower ? hex.toLowerCase() : hex;
        })
        .join('');
      return { value: percent, breaking: false };
    }
    case 'none':
      return { value, breaking: false };
  }
}

const RUNS = { corpus: 0, engine: 0, http: 0 };

/** `fc.assert` with a run counter for the summary. */
async function assertProperty<Ts>(level: 'engine' | 'http', numRuns: number, property: fc.IAsyncProperty<Ts>): Promise<void> {
  await fc.assert(property, { numRuns });
  RUNS[level] += numRuns;
}

/** An optional extra that is absent most of the time. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const PROTOTYPES = { Object: Object.prototype, Array: Array.prototype, String: String.prototype, Function: Function.prototype };
const ownNames = (): Record<string, string[]> =>
  Object.fromEntries(Object.entries(PROTOTYPES).map(([name, proto]) => [name, Object.getOwnPropertyNames(proto).sort()]));
const PROTOTYPES_BEFORE = ownNames();
const corpus = readCorpus();
let engineCtx: EngineContext;
let httpCtx: HttpContext;

beforeAll(async () => {
  // Built as in production, where a weak secret after the first verifies express-session values
  // only, never tokens (outside production it verifies both, as express-session's would).
  const nodeEnv = process.env['NODE_ENV'];
  process.env['NODE_ENV'] = 'production';
  try {
    engineCtx = await createEngineContext();
    httpCtx = await createHttpContext();
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV'];
    else process.env['NODE_ENV'] = nodeEnv;
  }
});

afterAll(async () => {
  await new Promise<void>((resolve) => httpCtx.server.close(() => resolve()));
  console.info(`cookie-header fuzz: ${RUNS.corpus} corpus lines; ${RUNS.engine} engine runs; ${RUNS.http} HTTP runs`);
});

describe('the Cookie header corpus (test/fixtures/cookie-headers.txt)', () => {
  it('has enough real-world-shaped lines to be worth its name', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
  });

  it.each(corpus)('line $line behaves as annotated, in the engine and over HTTP', async ({ source, annotation }) => {
    const bytes = expand(source, engineCtx.minted.values);
    for (const [index, engine] of [engineCtx.plain, engineCtx.migrating].entries()) {
      const header = bytes.toString('latin1');
      const expected = expectedOutcome(header, engineCtx.minted, index === 1);
      expect(annotationOf(expected), 'the model disagrees with the annotation').toBe(annotation[index]);
      check(await observeEngine(engineCtx, engine, header), expected, engineCtx.minted);
      // The same bytes decoded as UTF-8 (as a framework that decodes headers would): same checks.
      const utf8 = bytes.toString('utf8');
      check(await observeEngine(engineCtx, engine, utf8), expectedOutcome(utf8, engineCtx.minted, index === 1), engineCtx.minted);
    }
    for (const [index, target] of [httpCtx.tessera, httpCtx.migrating].entries()) {
      const outcome = await checkHttp(httpCtx, target, [expand(source, target.minted.values)]);
      if (outcome !== 'refused') expect(annotationOf(outcome)).toBe(annotation[index]);
    }
    RUNS.corpus++;
  });
});

describe('fuzzing the engine (engine.load, thousands of runs)', () => {
  it('never throws, never calls the store and reports invalid_token for arbitrary strings', async () => {
    const chunk = fc.oneof(
      fc.string({ unit: codeUnit, maxLength: 20 }),
      fc.string({ unit: nastyChar, maxLength: 6 }),
      fc.constantFrom(NAME, `${NAME}=`, ` ${NAME} = `, 'v1.', 's:', 's%3A', '__proto__=', 'constructor=', '"', '%', '%E0%A4%A'),
    );
    await assertProperty('engine', 2000, fc.asyncProperty(fc.array(chunk, { maxLength: 12 }), async (chunks) => {
      await checkEngine(engineCtx, chunks.join(''));
    }));
  });

  it('handles headers built from the cookie grammar with forged values, as the model says', async () => {
    const values = engineCtx.minted.values;
    const ours = ourPair(fc.oneof(forgedValue(values, codeUnit), foreignValue(codeUnit, values)), fc.oneof(spaces, fc.constantFrom('\u00a0', '\r\n', '\0')));
    const pair = fc.oneof({ weight: 2, arbitrary: ours }, { weight: 3, arbitrary: foreignPair(codeUnit, values) });
    const header = fc.tuple(fc.array(pair, { maxLength: 8 }), fc.array(separator, { minLength: 1, maxLength: 3 }), fc.boolean());
    await assertProperty('engine', 3000, fc.asyncProperty(header, async ([pairs, seps, asArray]) => {
      // Adapters may also hand over several Cookie headers as an array.
      await checkEngine(engineCtx, asArray ? pairs : joinPairs(pairs, seps));
    }));
  });

  it('never lets a mutated valid cookie reach the store, and keeps the harmless variants valid', async () => {
    const { values } = engineCtx.minted;
    const input = fc.record({
      base: fc.constantFrom('valid', 'old', 'legacy'),
      mutation: mutation(codeUnit, nastyChar),
      ws: fc.tuple(spaces, spaces, spaces, spaces),
      quote: fc.boolean(),
      before: fc.array(foreignPair(codeUnit, values), { maxLength: 4 }),
      after: fc.array(foreignPair(codeUnit, values), { maxLength: 4 }),
      duplicate: rarely(fc.oneof(forgedValue(values, codeUnit), fc.constantFrom(values['valid']!, values['old']!, ''))),
    });
    await assertProperty('engine', 3000, fc.asyncProperty(input, async ({ base, mutation: m, ws, quote, before, after, duplicate }) => {
      const original = values[base]!;
      const { value, breaking } = mutate(original, m, values[base === 'valid' ? 'old' : 'valid']!);
      const shown = quote ? `"${value}"` : value;
      const pairs = [...before, `${ws[0]}${NAME}${ws[1]}=${ws[2]}${shown}${ws[3]}`, ...after];
      if (duplicate !== null) pairs.push(`${NAME}=${duplicate}`);
      const header = joinPairs(pairs, ['; ']);
      for (const legacy of [false, true]) {
        const expected = expectedOutcome(header, engineCtx.minted, legacy);
        if (breaking || duplicate !== null) expect(expected.kind === 'valid' || (expected.kind === 'legacy' && expected.found)).toBe(false);
        else if (base !== 'legacy' || legacy) expect(expected.kind === 'valid' || expected.kind === 'legacy').toBe(true);
      }
      await checkEngine(engineCtx, header);
    }));
  });

  it('finds a valid cookie among any number of unrelated cookies', async () => {
    const { values } = engineCtx.minted;
    const input = fc.record({
      base: fc.constantFrom('valid', 'old', 'legacy', 'legacyEnc'),
      ours: fc.tuple(spaces, spaces, spaces, spaces, fc.boolean()),
      before: fc.array(foreignPair(codeUnit, values), { maxLength: 20 }),
      after: fc.array(foreignPair(codeUnit, values), { maxLength: 20 }),
      seps: fc.array(separator, { minLength: 1, maxLength: 4 }),
    });
    await assertProperty('engine', 2000, fc.asyncProperty(input, async ({ base, ours: [a, b, c, d, quote], before, after, seps }) => {
      const value = values[base]!;
      const header = joinPairs([...before, `${a}${NAME}${b}=${c}${quote ? `"${value}"` : value}${d}`, ...after], seps);
      const legacy = base.startsWith('legacy');
      const expected = expectedOutcome(header, engineCtx.minted, legacy);
      expect(expected.kind).toBe(legacy ? 'legacy' : 'valid');
      const observation = await observeEngine(engineCtx, legacy ? engineCtx.migrating : engineCtx.plain, header);
      check(observation, expected, engineCtx.minted);
      expect(observation.owner).toBe(legacy ? 'legacy' : base);
    }));
  });

  it('refuses oversized headers before looking at them, wherever our cookie is', async () => {
    const { values } = engineCtx.minted;
    const input = fc.record({
      size: fc.integer({ min: MAX_HEADER + 1, max: 64 * 1024 }),
      filler: fc.string({ unit: fc.oneof(codeUnit, nastyChar), minLength: 1, maxLength: 30 }),
      ours: fc.option(fc.constantFrom(values['valid']!, values['old']!, values['legacy']!), { nil: undefined }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    await assertProperty('engine', 150, fc.asyncProperty(input, async ({ size, filler, ours, at }) => {
      let header = filler.repeat(Math.ceil(size / filler.length)).slice(0, size);
      if (ours !== undefined) {
        const cut = Math.floor(at * header.length);
        header = `${header.slice(0, cut)}; ${NAME}=${ours}; ${header.slice(cut)}`;
      }
      expect(expectedOutcome(header, engineCtx.minted, false)).toEqual({ kind: 'invalid', reason: 'oversized' });
      await checkEngine(engineCtx, header);
    }));
  });

  it('scans thousands of cookie pairs, with prototype-shaped names, and still finds ours', async () => {
    const { values } = engineCtx.minted;
    const tiny = fc.constantFrom('a=1', 'b', '=', 'x=', '__proto__=1', 'constructor=a', 'prototype=', ' c = d ', ';', '%=%', 'q="');
    const input = fc.record({
      pairs: fc.array(fc.oneof(tiny, foreignPair(codeUnit, values)), { minLength: 1000, maxLength: 3000 }),
      at: fc.nat(),
      ours: fc.constantFrom(values['valid']!, values['old']!, values['unknown']!, values['retired']!, `${values['valid']!}x`),
    });
    await assertProperty('engine', 60, fc.asyncProperty(input, async ({ pairs, at, ours }) => {
      // Mostly longer than 16 KiB (refused whole), and a compact variant that must be scanned.
      const all = [...pairs];
      all.splice(at % (all.length + 1), 0, `${NAME}=${ours}`);
      await checkEngine(engineCtx, all.join('; '));
      const compact = pairs.filter((pair) => pair.length <= 4);
      compact.splice(at % (compact.length + 1), 0, `${NAME}=${ours}`);
      await checkEngine(engineCtx, compact.join(';'));
    }));
  });
});

describe('fuzzing the Express drop-in over HTTP (raw bytes on a loopback socket)', () => {
  const targets = (): HttpApp[] => [httpCtx.tessera, httpCtx.migrating];

  it('answers arbitrary header bytes without a 5xx, a store call or a session cookie', async () => {
    const byte = fc.oneof({ weight: 6, arbitrary: wireUnit }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((n) => String.fromCharCode(n)) });
    const chunk = fc.oneof(fc.string({ unit: byte, maxLength: 20 }), fc.constantFrom(`${NAME}=`, ` ${NAME} = `, 'v1.', 's%3A', '__proto__=', ';', '"', '%'));
    const input = fc.tuple(fc.array(fc.array(chunk, { maxLength: 8 }).map((c) => c.join('')), { minLength: 1, maxLength: 3 }), fc.boolean());
    await assertProperty('http', 300, fc.asyncProperty(input, async ([lines, legacy]) => {
      await checkHttp(httpCtx, targets()[legacy ? 1 : 0]!, lines.map((line) => Buffer.from(line, 'latin1')));
    }));
  });

  it('keeps forged, mutated and duplicated session cookies away from the store', async () => {
    const input = fc.record({
      legacyApp: fc.boolean(),
      base: fc.constantFrom('valid', 'old', 'legacy', 'legacyEnc'),
      mutation: mutation(wireUnit, wireNasty),
      before: fc.array(foreignPair(wireUnit, httpCtx.tessera.minted.values), { maxLength: 3 }),
      duplicate: rarely(fc.constantFrom('', 'x', 'v1.a.b.c')),
      split: fc.boolean(),
    });
    await assertProperty('http', 300, fc.asyncProperty(input, async ({ legacyApp, base, mutation: m, before, duplicate, split }) => {
      const target = targets()[legacyApp ? 1 : 0]!;
      const values = target.minted.values;
      const { value } = mutate(values[base]!, m, values[base === 'valid' ? 'old' : 'valid']!);
      const ours = `${NAME}=${value}`;
      // Several Cookie header lines are joined by Node with "; ", so a duplicate may hide in another line.
      const lines = split ? [before.join('; ') || 'a=1', ours] : [[...before, ours].join('; ')];
      if (duplicate !== null) lines.push(`${NAME}=${duplicate}`);
      await checkHttp(httpCtx, target, lines.map((line) => Buffer.from(line, 'latin1')));
    }));
  });

  it('finds a valid cookie among unrelated cookies sent over HTTP', async () => {
    const input = fc.record({
      legacyApp: fc.boolean(),
      base: fc.constantFrom('valid', 'old', 'legacyEnc'),
      ws: fc.tuple(spaces, spaces, spaces, spaces, fc.boolean()),
      before: fc.array(foreignPair(wireUnit, httpCtx.tessera.minted.values), { maxLength: 12 }),
      after: fc.array(foreignPair(wireUnit, httpCtx.tessera.minted.values), { maxLength: 12 }),
      seps: fc.array(separator, { minLength: 1, maxLength: 3 }),
    });
    await assertProperty('http', 200, fc.asyncProperty(input, async ({ legacyApp, base, ws: [a, b, c, d, quote], before, after, seps }) => {
      const target = targets()[legacyApp || base === 'legacyEnc' ? 1 : 0]!;
      const value = target.minted.values[base]!;
      const header = joinPairs([...before, `${a}${NAME}${b}=${c}${quote ? `"${value}"` : value}${d}`, ...after], seps);
      const outcome = await checkHttp(httpCtx, target, [Buffer.from(header, 'latin1')]);
      expect(outcome).not.toBe('refused');
      expect((outcome as Expected).kind).toBe(base === 'legacyEnc' ? 'legacy' : 'valid');
    }));
  });

  it('answers oversized headers and thousands of pairs without a 5xx', async () => {
    const input = fc.record({
      legacyApp: fc.boolean(),
      count: fc.integer({ min: 1000, max: 6000 }),
      pair: fc.constantFrom('a=1', '__proto__=x', 'constructor=prototype', '_ga=GA1.2.3.4', 'b', '=='),
      ours: fc.option(fc.constantFrom('valid', 'old', 'legacyEnc'), { nil: undefined }),
      at: fc.nat(),
    });
    await assertProperty('http', 40, fc.asyncProperty(input, async ({ legacyApp, count, pair, ours, at }) => {
      const target = targets()[legacyApp ? 1 : 0]!;
      const pairs: string[] = Array.from({ length: count }, () => pair);
      if (ours !== undefined) pairs.splice(at % (count + 1), 0, `${NAME}=${target.minted.values[ours]!}`);
      const header = pairs.join('; ');
      const outcome = await checkHttp(httpCtx, target, [Buffer.from(header, 'latin1')]);
      if (header.length > MAX_HEADER) expect(outcome).toEqual({ kind: 'invalid', reason: 'oversized' });
    }));
  });

  it('answers 431 (not a 5xx) when a header exceeds Node’s default limit', async () => {
    const server = http.createServer((_req, res) => res.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await rawRequest((server.address() as AddressInfo).port, '/', [Buffer.from(`${NAME}=${'x'.repeat(20_000)}`)]);
      expect(response.status).toBe(431);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

// Runs last (vitest runs the tests of a file in order).
describe('after thousands of hostile headers', () => {
  it('has not polluted Object.prototype or any other built-in prototype', () => {
    expect(ownNames()).toEqual(PROTOTYPES_BEFORE);
    const probe = {} as Record<string, unknown>;
    for (const key of ['admin', 'isAdmin', 'polluted', 'owner', 'x', 'a', 'tesseraUserIndex']) expect(probe[key]).toBeUndefined();
  });
});
