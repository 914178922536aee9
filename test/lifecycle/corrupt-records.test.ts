/**
 * A record that cannot be read as a session (not JSON, a key of the wrong type, a field of the
 * wrong type) is "no session" plus an `invalid_record` event, and is removed: never a 503 that
 * lasts as long as the bad data does. On every store, through real HTTP.
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../src/store/types.js';
import { T0 } from '../helpers/clock.js';
import { cookieHeader, storeKeyOfValue, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, type TestApp, type WhoAmI } from '../helpers/express-app.js';
import { storeKinds, type OpenStore } from '../helpers/every-store.js';

const { kinds, skipped } = await storeKinds();

describe.each(kinds)('corrupt records on $name', (kind) => {
  let opened: OpenStore;
  let t: TestApp;
  const now = kind.fakeClock ? () => T0 : Date.now;

  beforeAll(async () => {
    opened = await kind.open(now);
    t = buildApp({ store: opened.store, now });
  });
  afterAll(async () => {
    await opened.close();
  });

  async function signedIn(): Promise<string> {
    const res = await request(t.app).post('/signin/alice').expect(200);
    return cookieHeader(theSetCookie(res, DEFAULT_NAME));
  }

  async function expectNoSessionAndRemoved(cookie: string, reason: 'undecodable' | 'invalid_fields'): Promise<void> {
    t.events.length = 0;
    const first = await request(t.app).get('/whoami').set('Cookie', cookie).expect(200);
    expect(first.body as WhoAmI).toEqual({ userId: null, data: {}, isNew: true });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'invalid_record', reason }));
    // Removed: the next request is a plain "session gone", not another invalid record.
    t.events.length = 0;
    await request(t.app).get('/whoami').set('Cookie', cookie).expect(200);
    expect(t.events.map((event) => event.type)).toEqual(['stale_cookie']);
  }

  it.skipIf(kind.name === 'memory')('answers a request whose record is undecodable with no session (not 503), and removes it', async () => {
    const cookie = await signedIn();
    await opened.corrupt(storeKeyOfValue(cookie.slice(DEFAULT_NAME.length + 1)));
    await expectNoSessionAndRemoved(cookie, 'undecodable');
  });

  it('answers a request whose record has a field of the wrong type with no session, and removes it', async () => {
    const cookie = await signedIn();
    const key = storeKeyOfValue(cookie.slice(DEFAULT_NAME.length + 1));
    const record = await opened.store.get(key);
    expect(record?.userId).toBe('alice');
    const edited = { ...record!, idleTimeoutMs: '1800000' } as unknown as SessionRecord;
    await opened.store.set(key, edited);
    await expectNoSessionAndRemoved(cookie, 'invalid_fields');
  });
});

// A MemoryStore keeps only what it encoded itself: there is no way to corrupt one from outside.
describe.skipIf(skipped.length === 0)('store kinds without a server here', () => {
  it.each(skipped)('$name [skipped: $reason]', () => undefined);
});
