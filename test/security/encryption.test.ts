import Database from 'better-sqlite3';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { KeyRing } from '../../src/core/keyring.js';
import { openData, sealData } from '../../src/core/seal.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { frozenClock } from '../helpers/clock.js';
import { cookieHeader, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, OTHER_SECRET, SECRET, buildApp, type WhoAmI } from '../helpers/express-app.js';

const SECRET_DATA = 'card-4111-1111-1111-1111';

describe('encryption at rest (encryptData)', () => {
  it('keeps no plaintext of the data in the stored row, and reads it back', async () => {
    const clock = frozenClock();
    const db = new Database(':memory:');
    const store = new SqliteStore({ database: db, now: clock.now, purgeIntervalMs: 0 });
    const t = buildApp({ store, now: clock.now, encryptData: true });

    const res = await request(t.app).post(`/set/note/${SECRET_DATA}`).expect(200);
    const cookie = theSetCookie(res, DEFAULT_NAME);

    const rows = db.prepare('SELECT record FROM tessera_sessions').all() as Array<{ record: string }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.record).not.toContain(SECRET_DATA);
    expect(rows[0]!.record).not.toContain('note');
    expect(rows[0]!.record).toContain('$sealed');

    const read = await request(t.app).get('/whoami').set('Cookie', cookieHeader(cookie)).expect(200);
    expect((read.body as WhoAmI).data).toEqual({ note: SECRET_DATA });
  });

  it('binds sealed data to its session: moved to another key, it does not open', () => {
    const ring = new KeyRing(SECRET);
    const sealed = sealData(ring, 'key-a', { note: SECRET_DATA });
    expect(openData(ring, 'key-a', sealed)).toEqual({ note: SECRET_DATA });
    expect(openData(ring, 'key-b', sealed)).toBeUndefined();
  });

  it('opens data sealed under an older secret while it stays in the ring, and not after it is retired', () => {
    const sealed = sealData(new KeyRing(OTHER_SECRET), 'key-a', { n: 1 });
    expect(openData(new KeyRing([SECRET, OTHER_SECRET]), 'key-a', sealed)).toEqual({ n: 1 });
    expect(openData(new KeyRing(SECRET), 'key-a', sealed)).toBeUndefined();
  });

  it('refuses tampered ciphertext', () => {
    const ring = new KeyRing(SECRET);
    const sealed = sealData(ring, 'key-a', { n: 1 });
    const text = String(sealed['$sealed']);
    const flipped = text.slice(0, -2) + (text.endsWith('A') ? 'B' : 'A') + text.slice(-1);
    expect(openData(ring, 'key-a', { $sealed: flipped })).toBeUndefined();
  });
});
