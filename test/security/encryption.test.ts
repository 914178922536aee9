/**
 * Encryption at rest (`encryptData`): the data is sealed, and the fields the engine trusts are
 * bound to the seal, so someone with write access to the store can neither read the data nor
 * change whose session it is, when it started, its tokens or its device; plain data written
 * over the sealed value is refused. Unit checks of the seal, then the same attacks on rows of a
 * real SQLite store through real HTTP.
 */
import Database from 'better-sqlite3';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/core/keyring.js';
import { openRecord, sealRecord } from '../../src/core/seal.js';
import type { SessionRecord } from '../../src/store/types.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { frozenClock } from '../helpers/clock.js';
import { cookieHeader, storeKeyOfValue, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, OTHER_SECRET, SECRET, buildApp, type WhoAmI } from '../helpers/express-app.js';
import { sampleRecord } from '../helpers/records.js';

const SECRET_DATA = 'card-4111-1111-1111-1111';
const T0 = 1_700_000_000_000;

const record = (overrides: Partial<SessionRecord> = {}): SessionRecord =>
  sampleRecord({ userId: 'alice', data: { note: SECRET_DATA }, tokens: { current: 'hash-of-token', issuedAt: T0 }, ...overrides }, T0);

describe('the seal', () => {
  const ring = new KeyRing(SECRET);

  it('opens what it sealed, for the same store key only', () => {
    const sealed = sealRecord(ring, 'key-a', record());
    expect(JSON.stringify(sealed)).not.toContain(SECRET_DATA);
    expect(openRecord(ring, 'key-a', sealed)).toEqual(record());
    expect(openRecord(ring, 'key-b', sealed)).toBe('bad_seal');
  });

  const edits: Array<[string, (r: SessionRecord) => SessionRecord]> = [
    ['userId', (r) => ({ ...r, userId: 'mallory' })],
    ['version', (r) => ({ ...r, version: r.version + 1 })],
    ['createdAt (the absolute timeout)', (r) => ({ ...r, createdAt: r.createdAt + 3_600_000 })],
    ['authenticatedAt (step-up freshness)', (r) => ({ ...r, authenticatedAt: T0 + 1 })],
    ['the per-session idle timeout', (r) => ({ ...r, idleTimeoutMs: 400 * 86_400_000 })],
    ['the cookie lifetime', (r) => ({ ...r, cookieMaxAgeMs: 86_400_000 })],
    ['the token hashes', (r) => ({ ...r, tokens: { current: 'hash-of-my-token', issuedAt: T0 } })],
    ['the device metadata', (r) => ({ ...r, meta: { ...r.meta, ip: '203.0.113.9' } })],
  ];
  for (const [field, edit] of edits) {
    it(`refuses a record whose ${field} was edited`, () => {
      expect(openRecord(ring, 'key-a', edit(sealRecord(ring, 'key-a', record())))).toBe('bad_seal');
    });
  }

  it('still opens after a touch moved lastSeenAt and expiresAt (they are not bound; the absolute deadline is)', () => {
    const sealed = sealRecord(ring, 'key-a', record());
    const touched = { ...sealed, lastSeenAt: T0 + 60_000, expiresAt: T0 + 1_860_000 };
    expect(openRecord(ring, 'key-a', touched)).toEqual({ ...record(), lastSeenAt: T0 + 60_000, expiresAt: T0 + 1_860_000 });
  });

  it('does not care in which order a store gives back object keys', () => {
    const sealed = sealRecord(ring, 'key-a', record({ meta: { userAgent: 'UA', ip: '192.0.2.1' } }));
    const reordered = { ...sealed, meta: { ip: '192.0.2.1', userAgent: 'UA' } };
    expect(openRecord(ring, 'key-a', reordered)).not.toBe('bad_seal');
  });

  it('refuses swapped ciphertext, flipped bits, plain data and an unknown format', () => {
    const a = sealRecord(ring, 'key-a', record());
    const b = sealRecord(ring, 'key-a', record({ data: { role: 'admin' } }));
    expect(openRecord(ring, 'key-a', { ...a, data: b.data })).toEqual(record({ data: { role: 'admin' } }));
    // The same session's older ciphertext is another write of it; another session's never opens:
    const other = sealRecord(ring, 'key-z', record({ data: { role: 'admin' } }));
    expect(openRecord(ring, 'key-a', { ...a, data: other.data })).toBe('bad_seal');
    const text = String(a.data['$sealed']);
    const flipped = text.slice(0, -2) + (text.at(-2) === 'A' ? 'B' : 'A') + text.slice(-1);
    expect(openRecord(ring, 'key-a', { ...a, data: { $sealed: flipped } })).toBe('bad_seal');
    expect(openRecord(ring, 'key-a', { ...a, data: { role: 'admin' } })).toBe('unsealed');
    expect(openRecord(ring, 'key-a', { ...a, data: { $sealed: text.replace(/^v2/, 'v1') } })).toBe('bad_seal');
  });

  it('opens records sealed under an older secret while it stays in the ring, and not after it is retired', () => {
    const sealed = sealRecord(new KeyRing(OTHER_SECRET), 'key-a', record());
    expect(openRecord(new KeyRing([SECRET, OTHER_SECRET]), 'key-a', sealed)).toEqual(record());
    expect(openRecord(new KeyRing(SECRET), 'key-a', sealed)).toBe('bad_seal');
  });
});

describe('attacks on the rows of a real store (SQLite, through HTTP)', () => {
  function setup(encryptData = true) {
    const clock = frozenClock();
    const db = new Database(':memory:');
    const store = new SqliteStore({ database: db, now: clock.now, purgeIntervalMs: 0 });
    const t = buildApp({ store, now: clock.now, encryptData, cookie: { secure: false } });
    return { db, store, t, clock };
  }
  type Row = { key: string; record: string };
  const rowOf = (db: Database.Database, key: string): Row => db.prepare('SELECT key, record FROM tessera_sessions WHERE key = ?').get(key) as Row;
  const writeRow = (db: Database.Database, key: string, record: unknown): void =>
    void db.prepare('UPDATE tessera_sessions SET record = ? WHERE key = ?').run(JSON.stringify(record), key);

  async function signedIn(t: ReturnType<typeof setup>['t'], user: string) {
    const cookie = theSetCookie(await request(t.app).post(`/signin/${user}`).expect(200), DEFAULT_NAME);
    await request(t.app).post(`/set/note/${SECRET_DATA}`).set('Cookie', cookieHeader(cookie)).expect(200);
    return { cookie, key: storeKeyOfValue(cookie.value) };
  }
  const whoami = async (t: ReturnType<typeof setup>['t'], cookie: Parameters<typeof cookieHeader>[0]) =>
    (await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200)).body as WhoAmI;

  it('keeps no plaintext of the data in the row, and reads it back', async () => {
    const { db, t } = setup();
    const { cookie, key } = await signedIn(t, 'alice');
    const row = rowOf(db, key);
    expect(row.record).not.toContain(SECRET_DATA);
    expect(row.record).not.toContain('note');
    expect(row.record).toContain('$sealed');
    expect((await whoami(t, cookie)).data).toEqual({ note: SECRET_DATA });
  });

  it('an edited userId gives no session (not the other user), an invalid_record event, and the row is gone', async () => {
    const { db, t } = setup();
    const { cookie, key } = await signedIn(t, 'alice');
    const stored = JSON.parse(rowOf(db, key).record) as SessionRecord;
    writeRow(db, key, { ...stored, userId: 'admin' });
    expect(await whoami(t, cookie)).toEqual({ userId: null, data: {}, isNew: true });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'invalid_record', reason: 'bad_seal' }));
    expect(rowOf(db, key)).toBeUndefined();
  });

  it("plain data written over the sealed value (role: 'admin') is refused", async () => {
    const { db, t } = setup();
    const { cookie, key } = await signedIn(t, 'alice');
    const stored = JSON.parse(rowOf(db, key).record) as SessionRecord;
    writeRow(db, key, { ...stored, data: { role: 'admin' } });
    expect((await whoami(t, cookie)).data).toEqual({});
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'invalid_record', reason: 'unsealed' }));
  });

  it("another session's sealed data swapped in is refused", async () => {
    const { db, t } = setup();
    const alice = await signedIn(t, 'alice');
    const bob = await signedIn(t, 'bob');
    const a = JSON.parse(rowOf(db, alice.key).record) as SessionRecord;
    const b = JSON.parse(rowOf(db, bob.key).record) as SessionRecord;
    writeRow(db, alice.key, { ...a, data: b.data });
    expect((await whoami(t, alice.cookie)).userId).toBeNull();
  });

  it('a record with an edited field is left out of its user’s session list', async () => {
    const { db, t } = setup();
    const first = await signedIn(t, 'carol');
    await signedIn(t, 'carol');
    const stored = JSON.parse(rowOf(db, first.key).record) as SessionRecord;
    writeRow(db, first.key, { ...stored, meta: { ...stored.meta, userAgent: 'forged' } });
    expect(await t.middleware.engine.listUserSessions('carol')).toHaveLength(1);
  });

  it('sessions sealed before encryptData was turned off still open', async () => {
    const db = new Database(':memory:');
    const clock = frozenClock();
    const sealing = buildApp({ store: new SqliteStore({ database: db, now: clock.now, purgeIntervalMs: 0 }), now: clock.now, encryptData: true });
    const cookie = theSetCookie(await request(sealing.app).post(`/set/note/${SECRET_DATA}`).expect(200), DEFAULT_NAME);
    const plain = buildApp({ store: new SqliteStore({ database: db, now: clock.now, purgeIntervalMs: 0 }), now: clock.now });
    expect((await whoami(plain, cookie)).data).toEqual({ note: SECRET_DATA });
  });
});
