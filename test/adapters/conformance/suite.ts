/**
 * The adapter conformance suite: what every framework adapter must do, through real HTTP on
 * 127.0.0.1, on a frozen clock. An adapter's test file describes how to start its app
 * ({@link AdapterUnderTest}) and calls {@link runAdapterConformance}; adding an adapter is
 * adding one such file.
 * @module
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MINUTE, SECOND, frozenClock, type TestClock } from '../../helpers/clock.js';
import { isClearing } from '../../helpers/cookies.js';
import { Jar, send, sendRawCookie, type Reply } from './client.js';
import { COOKIE, FlakyStore, SECRET, STORE_TIMEOUT, type AdapterUnderTest, type RunningApp } from './contract.js';

const ROTATE = 15 * MINUTE;
const GRACE = 30 * SECOND;
const SKEW = 2 * MINUTE;

/** The headers of `test/fixtures/cookie-headers.txt`, as bytes, with every placeholder forged. */
function corpus(): Buffer[] {
  const text = readFileSync(new URL('../../fixtures/cookie-headers.txt', import.meta.url), 'utf8');
  const forged: Record<string, string> = { sid: 'A'.repeat(22), osid: 'A'.repeat(22), lsid: 'L'.repeat(32), token: 'B'.repeat(43), otoken: 'B'.repeat(43), kid: 'k2', okid: 'k1', sig: 'C'.repeat(43), osig: 'C'.repeat(43), lsig: 'D'.repeat(43) };
  const value = `s%3A${'A'.repeat(22)}.${'B'.repeat(43)}.k2.${'C'.repeat(43)}`;
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const filled = line
        .replaceAll('connect.sid', COOKIE)
        .replace(/\$\{rep:(\d+):([^}]*)\}/g, (_m, n: string, what: string) => what.repeat(Number(n)))
        .replace(/\$\{([a-zA-Z0-9]+)(\[[^\]]*\])?\}/g, (_m, name: string) => forged[name] ?? value);
      const bytes: number[] = [];
      for (const part of filled.split(/(\\x[0-9a-fA-F]{2})/)) {
        if (/^\\x[0-9a-fA-F]{2}$/.test(part)) bytes.push(parseInt(part.slice(2), 16));
        else bytes.push(...Buffer.from(part, 'utf8'));
      }
      return Buffer.from(bytes);
    });
}

/** Run the suite against one adapter. */
export function runAdapterConformance(adapter: AdapterUnderTest): void {
  describe(`adapter conformance: ${adapter.name}`, () => {
    let clock: TestClock;
    let store: FlakyStore;
    let app: RunningApp;
    const get = (path: string, jar?: Jar, headers: Record<string, string> = {}): Promise<Reply> => send(app.url, 'GET', path, { ...jar?.headers, ...headers });
    const post = (path: string, jar?: Jar, headers: Record<string, string> = {}): Promise<Reply> =>
      send(app.url, 'POST', path, { 'sec-fetch-site': 'same-origin', ...jar?.headers, ...headers });
    const signedIn = async (user = 'alice'): Promise<Jar> => {
      const jar = new Jar();
      const res = jar.take(await post(`/signin?user=${user}`, jar));
      expect(res.status).toBe(200);
      expect(jar.value).toBeDefined();
      return jar;
    };
    const whoami = async (jar: Jar): Promise<Record<string, unknown>> => {
      const res = jar.take(await get('/whoami', jar));
      expect(res.status).toBe(200);
      return res.json!;
    };

    beforeEach(async () => {
      clock = frozenClock();
      store = new FlakyStore(clock.now);
      app = await adapter.start({ secret: SECRET, store, now: clock.now, storeTimeout: STORE_TIMEOUT, cookieName: COOKIE });
    });
    afterEach(async () => {
      await app.close();
      store.mode = 'ok';
      await store.close();
    });

    it('makes no store call and sets no cookie for a request without a session cookie', async () => {
      const plain = await get('/plain');
      const read = await get('/whoami');
      expect([plain.status, read.status]).toEqual([200, 200]);
      expect(read.json).toEqual({ user: null, data: {}, isNew: true });
      expect([...plain.sessionCookies, ...read.sessionCookies]).toEqual([]);
      expect(store.calls).toEqual([]);
    });

    it('replaces the token on sign-in: the anonymous cookie stops working', async () => {
      const jar = new Jar();
      jar.take(await post('/put?key=cart&value=3', jar));
      const anonymous = jar.copy();
      expect(anonymous.value).toBeDefined();
      const res = jar.take(await post('/signin?user=alice', jar));
      expect(res.sessionCookies).toHaveLength(1);
      expect(jar.value).not.toBe(anonymous.value);
      expect(await whoami(jar)).toMatchObject({ user: 'alice', isNew: false });
      expect(await whoami(anonymous)).toMatchObject({ user: null, isNew: true });
    });

    it('clears the cookie and sends Clear-Site-Data on sign-out', async () => {
      const jar = await signedIn();
      const old = jar.copy();
      const res = await post('/signout', jar);
      expect(res.status).toBe(200);
      expect(res.sessionCookies.map(isClearing)).toEqual([true]);
      // Each adapter's default: tessera's own sends all three, the drop-ins keep other cookies.
      expect(res.headers['clear-site-data']).toMatch(/"cache"/);
      expect(await whoami(old)).toMatchObject({ user: null });
    });

    it('gives no session and no 5xx for a forged, tampered, duplicated or oversized cookie', async () => {
      const jar = await signedIn();
      const value = jar.value!;
      const last = value.at(-1) === 'A' ? 'B' : 'A';
      const variants = [`${value.slice(0, -1)}${last}`, `${value}; ${COOKIE}=${value}`, `${value}${'A'.repeat(5_000)}`, 's%3Aforged.value.k1.sig', '%E0%A4%A', ''];
      store.reset();
      for (const variant of variants) {
        const res = await get('/whoami', undefined, { cookie: `${COOKIE}=${variant}` });
        expect(res.status, variant.slice(0, 80)).toBe(200);
        expect(res.json, variant.slice(0, 80)).toMatchObject({ user: null });
      }
      expect(store.count('get', 'set', 'touch')).toBe(0);
      expect(await whoami(jar)).toMatchObject({ user: 'alice' });
    });

    it('answers every header of the cookie corpus without a 5xx, a session or a store call', async () => {
      const headers = corpus();
      expect(headers.length).toBeGreaterThan(100);
      for (const header of headers) {
        const res = await sendRawCookie(app.url, '/whoami', header);
        expect(res.status, header.toString('latin1').slice(0, 120)).toBeGreaterThanOrEqual(200);
        expect(res.status, header.toString('latin1').slice(0, 120)).toBeLessThan(500);
        if (res.status === 200) expect(JSON.parse(res.body), header.toString('latin1').slice(0, 120)).toMatchObject({ user: null });
      }
      expect(store.count('get', 'set', 'touch')).toBe(0);
    });

    it('rotates the token: resent until seen, the old one kept for the grace window, then a replay', async () => {
      const jar = await signedIn();
      const first = jar.copy();
      clock.advance(ROTATE + SECOND);
      const rotated = await get('/whoami', first);
      expect(rotated.json).toMatchObject({ user: 'alice' });
      expect(rotated.sessionCookies).toHaveLength(1);
      const next = rotated.sessionCookies[0]!.value;
      expect(next).not.toBe(first.value);
      // The response was lost: the old token still works and gets the same new one again.
      const again = await get('/whoami', first);
      expect(again.json).toMatchObject({ user: 'alice' });
      expect(again.sessionCookies.map((cookie) => cookie.value)).toEqual([next]);
      jar.value = next;
      expect(await whoami(jar)).toMatchObject({ user: 'alice' });
      expect(await whoami(first.copy())).toMatchObject({ user: 'alice' });
      clock.advance(GRACE + SKEW + SECOND);
      expect(await whoami(first.copy())).toMatchObject({ user: null });
      expect(await whoami(jar)).toMatchObject({ user: null });
    });

    it('delivers a rotated token on a streamed response', async () => {
      const jar = await signedIn();
      const first = jar.value;
      clock.advance(ROTATE + SECOND);
      const res = jar.take(await get('/stream', jar));
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ user: 'alice' });
      expect(jar.value).not.toBe(first);
      expect(await whoami(jar)).toMatchObject({ user: 'alice' });
      clock.advance(GRACE + SKEW + SECOND);
      expect(await whoami(jar)).toMatchObject({ user: 'alice' });
    });

    it('loses no key when 20 requests of one session write at once', async () => {
      const jar = await signedIn();
      const writes = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`/put?key=k${i}&value=${i}`, jar)));
      expect(writes.map((res) => res.status)).toEqual(Array(20).fill(200));
      const { data } = await whoami(jar);
      expect(Object.keys(data as object).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`).sort());
    });

    it('refuses a cross-site POST and accepts a same-origin one or a valid token', async () => {
      const jar = await signedIn();
      const crossSite = await post('/form', jar, { 'sec-fetch-site': 'cross-site' });
      expect([crossSite.status, crossSite.json]).toEqual([403, { error: 'CROSS_SITE' }]);
      const foreign = await send(app.url, 'POST', '/form', { ...jar.headers, origin: 'https://evil.example' });
      expect([foreign.status, foreign.json]).toEqual([403, { error: 'CROSS_SITE' }]);
      const bare = await send(app.url, 'POST', '/form', jar.headers);
      expect(bare.status).toBe(403);
      expect((await post('/form', jar)).json).toEqual({ accepted: true });
      const token = String((await get('/form', jar)).json?.['token']);
      const withToken = await send(app.url, 'POST', '/form', { ...jar.headers, 'x-csrf-token': token });
      expect([withToken.status, withToken.json]).toEqual([200, { accepted: true }]);
    });

    it('passes a store that hangs on load to the app as STORE_UNAVAILABLE (503)', async () => {
      const jar = await signedIn();
      store.mode = 'hang';
      const res = await get('/whoami', jar);
      expect([res.status, res.json]).toEqual([503, { error: 'STORE_UNAVAILABLE' }]);
      expect(res.sessionCookies).toEqual([]);
    });

    it('passes a store that fails on save to the app as STORE_UNAVAILABLE (503)', async () => {
      store.mode = 'fail';
      const res = await post('/put?key=cart&value=1');
      expect([res.status, res.json]).toEqual([503, { error: 'STORE_UNAVAILABLE' }]);
      expect(res.sessionCookies).toEqual([]);
      store.mode = 'ok';
      expect((await get('/plain')).status).toBe(200);
    });
  });
}
