/**
 * Session data the store cannot keep is the application's error, caught before any store call:
 * a value JSON cannot hold (`INVALID_DATA`, naming the key) or more than `maxDataBytes`
 * (`DATA_TOO_LARGE`). Neither is a store outage: no `store_error`, no store write. Through the
 * core and through the Express drop-in (the app's error handler answers 500).
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import session from '../../src/adapters/express/index.js';
import { createSessions } from '../../src/core/engine.js';
import { TesseraError } from '../../src/core/errors.js';
import type { SessionEvent } from '../../src/core/events.js';
import { MemoryStore } from '../../src/store/memory.js';
import { RecordingStore } from '../helpers/recording-store.js';

const SECRET = 'data-check-test-secret-0123456789abcdefghijk';

function engineWith(options: { maxDataBytes?: number } = {}) {
  const events: SessionEvent[] = [];
  const store = new RecordingStore(new MemoryStore());
  const engine = createSessions({ secret: SECRET, store, cookie: { secure: false }, onEvent: (e) => void events.push(e), ...options });
  return { engine, store, events };
}

async function saveWith(value: unknown, options: { maxDataBytes?: number } = {}) {
  const { engine, store, events } = engineWith(options);
  const rs = await engine.load({ cookie: undefined, secure: false });
  rs.data.set('ok', 1);
  rs.data.set('bad', value);
  const error = await rs.save().then(() => undefined, (e: unknown) => e);
  return { error, store, events };
}

const circular: Record<string, unknown> = { name: 'loop' };
circular['self'] = circular;

describe('data that JSON cannot hold', () => {
  for (const [what, value, says] of [
    ['a BigInt', 10n, /BigInt/],
    ['a circular object', circular, /circular/i],
    ['a function', () => 1, /function has no JSON form/],
    ['a symbol', Symbol('s'), /symbol has no JSON form/],
  ] as const) {
    it(`refuses ${what} with INVALID_DATA naming the key, and asks the store nothing`, async () => {
      const { error, store, events } = await saveWith(value);
      expect(error).toBeInstanceOf(TesseraError);
      expect(error).toMatchObject({ code: 'INVALID_DATA', status: 500 });
      expect((error as Error).message).toContain('"bad"');
      expect((error as Error).message).toMatch(says);
      expect(store.calls.filter((c) => c.op === 'set')).toEqual([]);
      expect(events.filter((e) => e.type === 'store_error')).toEqual([]);
    });
  }

  it('finds the bad key in a session loaded with good data too (a later write)', async () => {
    const { engine } = engineWith();
    const first = await engine.load({ cookie: undefined, secure: false });
    first.data.set('good', { a: 1 });
    await first.save();
    const cookie = first.responseHeaders().find(([n]) => n === 'Set-Cookie')![1].split(';')[0];
    const next = await engine.load({ cookie, secure: false });
    next.data.set('count', 2n);
    await expect(next.save()).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('"count"') });
  });
});

describe('maxDataBytes', () => {
  it('defaults to 64 KiB: just under is stored, just over is DATA_TOO_LARGE before any store call', async () => {
    const { engine } = engineWith();
    expect(engine.options.maxDataBytes).toBe(65_536);
    // {"ok":1,"bad":"..."}: 17 bytes of JSON around the string.
    const under = await saveWith('x'.repeat(65_536 - 17));
    expect(under.error).toBeUndefined();
    const over = await saveWith('x'.repeat(65_536 - 16));
    expect(over.error).toMatchObject({ code: 'DATA_TOO_LARGE' });
    expect((over.error as Error).message).toMatch(/65537 bytes of JSON, more than maxDataBytes \(65536\)/);
    expect(over.store.calls.filter((c) => c.op === 'set')).toEqual([]);
  });

  it('counts bytes of UTF-8, not characters', async () => {
    const { error } = await saveWith('é'.repeat(600), { maxDataBytes: 1_000 });
    expect(error).toMatchObject({ code: 'DATA_TOO_LARGE' });
    expect((await saveWith('e'.repeat(600), { maxDataBytes: 1_000 })).error).toBeUndefined();
  });

  it('refuses 15 MiB on every store (the check is in the core)', async () => {
    const { error } = await saveWith('x'.repeat(15 * 1024 * 1024));
    expect(error).toMatchObject({ code: 'DATA_TOO_LARGE' });
  });

  it('can be lifted (Infinity) by an app that means it', async () => {
    expect((await saveWith('x'.repeat(100_000), { maxDataBytes: Infinity })).error).toBeUndefined();
  });
});

describe('through the Express drop-in', () => {
  it("answers through the app's error handler with 500 and the code, whatever saveErrors says; no cookie", async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(session({ secret: SECRET, store: new MemoryStore() }));
    app.get('/', (req, res) => {
      (req.session as unknown as Record<string, unknown>)['big'] = 1n;
      res.send('stored?');
    });
    app.use((error: TesseraError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      seen.push(error);
      res.status(error.status).send(error.code);
    });
    const res = await request(app).get('/').expect(500, 'INVALID_DATA');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(seen).toHaveLength(1);
  });
});
