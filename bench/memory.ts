/**
 * Heap and RSS of N sessions in one memory store, in a fresh process:
 * `node --expose-gc --import tsx bench/memory.ts <variant> <sessions>`, variant one of
 * - `express-session`: express-session 1.19's MemoryStore, sessions built as its middleware
 *   builds them (`Session` + `Cookie`, a 24-byte uid-safe id) and `store.set`;
 * - `tessera`: tessera's MemoryStore with room for all N, sessions created through the engine
 *   exactly as a sign-in on the Express drop-in creates them;
 * - `tessera-default`: the same on a default MemoryStore (10,000 entries), to show the bound.
 *
 * Both hold the data the benchmark's `POST /signin` writes. Prints one JSON line.
 * @module
 */
import { randomBytes } from 'node:crypto';
import expressSession from 'express-session';
import { createSessions } from '../src/core/engine.js';
import { MemoryStore } from '../src/store/memory.js';
import { SECRET } from './config.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const [variant = 'tessera', countText = '100000'] = process.argv.slice(2);
const count = Number(countText);
/** A current desktop Chrome user agent (111 characters), as a browser sends it. */
const USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

function settle(): { heap: number; rss: number } {
  for (let i = 0; i < 4; i++) gc!();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

/** The data `POST /signin` writes. */
const dataOf = (i: number): Record<string, unknown> => ({ user: `user-${i}`, prefs: { theme: 'dark', lang: 'en' }, views: 0 });

async function fillExpressSession(): Promise<{ kept: () => Promise<number>; keep: unknown }> {
  const store = new expressSession.MemoryStore();
  const { Session, Cookie } = expressSession as unknown as {
    Session: new (req: object, data?: object) => Record<string, unknown>;
    Cookie: new (options?: object) => object;
  };
  for (let i = 0; i < count; i++) {
    const sid = randomBytes(24).toString('base64url'); // uid-safe(24), as express-session's genid
    const req = { sessionID: sid, sessionStore: store };
    const session = new Session(req);
    session['cookie'] = new Cookie({ path: '/', httpOnly: true, secure: false, maxAge: null });
    Object.assign(session, dataOf(i));
    await new Promise<void>((resolve, reject) => store.set(sid, session as never, (error) => (error ? reject(error) : resolve())));
  }
  return {
    keep: store,
    kept: () => new Promise((resolve, reject) => store.length((error, length) => (error ? reject(error) : resolve(length ?? 0)))),
  };
}

async function fillTessera(maxEntries: number | undefined): Promise<{ kept: () => Promise<number>; keep: unknown }> {
  const store = new MemoryStore(maxEntries === undefined ? {} : { maxEntries });
  const engine = createSessions({ secret: SECRET, store, cookie: { secure: false, name: 'connect.sid' } });
  for (let i = 0; i < count; i++) {
    const rs = await engine.load({ cookie: undefined, secure: false, ip: '127.0.0.1', userAgent: USER_AGENT, method: 'POST', path: '/signin' });
    for (const [key, value] of Object.entries(dataOf(i))) rs.data.set(key, value);
    await rs.save();
  }
  return { keep: store, kept: async () => store.size };
}

const before = settle();
const filled =
  variant === 'express-session'
    ? await fillExpressSession()
    : variant === 'tessera'
      ? await fillTessera(count)
      : variant === 'tessera-default'
        ? await fillTessera(undefined)
        : (() => {
            throw new Error(`unknown variant ${variant}`);
          })();
const after = settle();
const kept = await filled.kept();
const label =
  variant === 'express-session'
    ? 'express-session MemoryStore'
    : variant === 'tessera'
      ? `tessera MemoryStore (maxEntries ${count.toLocaleString('en')})`
      : 'tessera MemoryStore (default: maxEntries 10,000)';
console.log(
  JSON.stringify({
    label,
    sessions: count,
    kept,
    heapPerSession: (after.heap - before.heap) / kept,
    rssPerSession: (after.rss - before.rss) / kept,
    heapDeltaMiB: (after.heap - before.heap) / 2 ** 20,
    rssDeltaMiB: (after.rss - before.rss) / 2 ** 20,
    retained: typeof filled.keep,
  }),
);
