/**
 * RedisStore on a standalone Redis (REDIS_URL), with node-redis v5 and with ioredis: the
 * conformance suite, then what is specific to Redis (native TTL, prefix, touch without
 * rewriting data, the user index and its pruning, script cache, options, the client's life).
 */
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { RedisStore, type RedisClientLike, type RedisStoreOptions } from '../../src/store/redis.js';
import type { SessionRecord } from '../../src/store/types.js';
import { runStoreConformance } from '../../src/testing/index.js';
import { cookieHeader, theSetCookie } from '../helpers/cookies.js';
import { DEFAULT_NAME, buildApp, listen, type WhoAmI } from '../helpers/express-app.js';
import {
  connectStandalone,
  deleteKeys,
  describeWithServer,
  listKeys,
  standaloneAddress,
  standaloneProblem,
  uniquePrefix,
  type Library,
  type TestClient,
} from '../helpers/redis.js';
import { catchError } from '../helpers/errors.js';

const LIBRARIES: Library[] = ['node-redis', 'ioredis'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** One connected client per library for the whole file; closed (and keys deleted) at the end. */
const clients = new Map<Library, Promise<TestClient>>();
const prefixes: string[] = [];
function clientOf(library: Library): Promise<TestClient> {
  let client = clients.get(library);
  if (!client) clients.set(library, (client = connectStandalone(library)));
  return client;
}
function prefixFor(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return prefix;
}
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys([standaloneAddress()], prefix);
  for (const client of clients.values()) await (await client).close();
});

function record(now: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    version: 1,
    createdAt: now,
    authenticatedAt: null,
    lastSeenAt: now,
    expiresAt: now + HOUR,
    userId: null,
    data: {},
    meta: {},
    ...overrides,
  };
}


describeWithServer('RedisStore on a standalone Redis', await standaloneProblem(), () => {
  for (const library of LIBRARIES) {
    const prefix = prefixFor(`conformance-${library}`);
    runStoreConformance(
      `RedisStore (${library})`,
      async () => ({ store: new RedisStore({ client: (await clientOf(library)).client, prefix }) }),
      { framework: { describe, it }, fakeClock: false, realTtlMs: 150 },
    );
  }

  describe.each(LIBRARIES)('RedisStore with %s', (library) => {
    /** A store on a fresh prefix; `clock.offset` moves its clock without sleeping. */
    async function open(options: Partial<RedisStoreOptions> = {}) {
      const t = await clientOf(library);
      const clock = { offset: 0, now: () => Date.now() + clock.offset };
      const store = new RedisStore({ client: t.client, prefix: prefixFor(library), now: clock.now, ...options });
      const raw = (...args: string[]) => t.command(args);
      const hash = async (key: string) => toObject(await raw('HGETALL', store.sessionKey(key)));
      return { store, clock, raw, hash, t };
    }

    it('sets a native TTL on the session key and its user index, at expiresAt', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice', expiresAt: now + 10 * MINUTE }));
      const sessionTtl = Number(await raw('PTTL', store.sessionKey('k')));
      expect(sessionTtl).toBeGreaterThan(9 * MINUTE);
      expect(sessionTtl).toBeLessThanOrEqual(10 * MINUTE);
      expect(Number(await raw('PTTL', store.userKey('alice')))).toBeGreaterThanOrEqual(sessionTtl);
    });

    it('keeps every key under its prefix and apart from another prefix', async () => {
      const { store, t } = await open();
      const other = new RedisStore({ client: t.client, prefix: prefixFor('other') });
      await store.set('k', record(Date.now(), { userId: 'alice', data: { mine: true } }));
      expect(await other.get('k')).toBeNull();
      expect(await other.listByUser('alice')).toEqual([]);
      expect(await listKeys([standaloneAddress()], store.prefix)).toEqual([
        `${store.prefix}session:k`,
        `${store.prefix}user:alice`,
      ]);
      expect(await listKeys([standaloneAddress()], other.prefix)).toEqual([]);
    });

    it('defaults the prefix to tessera:', async () => {
      const t = await clientOf(library);
      const store = new RedisStore({ client: t.client });
      expect(store.prefix).toBe('tessera:');
      expect(store.sessionKey('abc')).toBe('tessera:session:abc');
      expect(store.userKey('alice')).toBe('tessera:user:alice');
    });

    it('touch updates lastSeenAt, expiresAt and the TTL and leaves the data and version as written', async () => {
      const { store, raw, hash } = await open();
      const now = Date.now();
      await store.set('k', record(now, { version: 7, data: { big: 'x'.repeat(10_000) }, expiresAt: now + MINUTE }));
      const before = await hash('k');
      expect(await store.touch('k', now + 5, now + HOUR)).toBe(true);
      const after = await hash('k');
      expect(after['r']).toBe(before['r']);
      expect(after['v']).toBe('7');
      expect({ s: after['s'], e: after['e'] }).toEqual({ s: String(now + 5), e: String(now + HOUR) });
      expect(Number(await raw('PTTL', store.sessionKey('k')))).toBeGreaterThan(59 * MINUTE);
      expect(await store.get('k')).toMatchObject({ version: 7, lastSeenAt: now + 5, expiresAt: now + HOUR });
    });

    it('extends the user index before a touch that would outlive its entry', async () => {
      const { store, raw, hash } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice', expiresAt: now + MINUTE }));
      const first = Number(await raw('ZSCORE', store.userKey('alice'), 'k'));
      expect(first).toBeGreaterThanOrEqual(now + MINUTE);
      // Within the entry's reach: one script call, the index is left alone.
      await store.touch('k', now, now + MINUTE + 1_000);
      expect(Number(await raw('ZSCORE', store.userKey('alice'), 'k'))).toBe(first);
      // Past it: the entry moves first, and the session records how far it now reaches.
      await store.touch('k', now, now + 10 * HOUR);
      const extended = await raw('ZSCORE', store.userKey('alice'), 'k');
      expect(Number(extended)).toBeGreaterThanOrEqual(now + 10 * HOUR);
      expect((await hash('k'))['i']).toBe(String(extended));
      expect(Number(await raw('PTTL', store.userKey('alice')))).toBeGreaterThan(9 * HOUR);
    });

    it('keeps every index entry at or past its session expiry through writes, touches and user changes', async () => {
      const { store, raw, hash } = await open();
      const now = Date.now();
      const users = ['alice', 'bob'];
      for (let step = 0; step < 40; step++) {
        const key = `k${step % 4}`;
        const expiresAt = now + ((step * 7_919) % 20) * MINUTE + MINUTE;
        if (step % 3 === 2) await store.touch(key, now, expiresAt);
        else await store.set(key, record(now, { version: step + 1, userId: users[step % 5 === 0 ? 1 : 0] ?? null, expiresAt }));
        for (let k = 0; k < 4; k++) {
          const h = await hash(`k${k}`);
          if (h['u'] === undefined) continue;
          const score = await raw('ZSCORE', store.userKey(h['u']), `k${k}`);
          expect(Number(score)).toBeGreaterThanOrEqual(Number(h['e']));
          expect(Number(h['i'])).toBeGreaterThanOrEqual(Number(h['e']));
        }
      }
    });

    it('drops index entries once their time has passed', async () => {
      const { store, clock, raw } = await open();
      const now = clock.now();
      await store.set('short', record(now, { userId: 'alice', expiresAt: now + MINUTE }));
      await store.set('long', record(now, { userId: 'alice', expiresAt: now + HOUR }));
      expect(Number(await raw('ZCARD', store.userKey('alice')))).toBe(2);
      clock.offset = 3 * MINUTE; // past the short session's entry (expiry plus its headroom)
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['long']);
      expect(await raw('ZRANGE', store.userKey('alice'), '0', '-1')).toEqual(['long']);
    });

    it('removes the index entry of a session it deletes, and the index key with the last one', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      for (const key of ['a', 'b', 'c']) await store.set(key, record(now, { userId: 'alice' }));
      await store.delete('a');
      expect(((await raw('ZRANGE', store.userKey('alice'), '0', '-1')) as string[]).sort()).toEqual(['b', 'c']);
      expect(await store.deleteByUser('alice')).toBe(2);
      expect(Number(await raw('EXISTS', store.userKey('alice')))).toBe(0);
    });

    it('keeps an index entry that was re-indexed after the deleted session recorded it', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice' }));
      // Another writer extends the entry (as it does before re-creating the session).
      const score = Number(await raw('ZSCORE', store.userKey('alice'), 'k'));
      await raw('ZADD', store.userKey('alice'), String(score + 1), 'k');
      await store.delete('k');
      expect(await raw('ZRANGE', store.userKey('alice'), '0', '-1')).toEqual(['k']);
      // A stale entry is harmless: nothing is listed or counted for it.
      expect(await store.listByUser('alice')).toEqual([]);
      expect(await store.deleteByUser('alice')).toBe(0);
    });

    it('ignores index entries without a live session of that user (a crash between the two writes)', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await raw('ZADD', store.userKey('alice'), String(now + HOUR), 'ghost');
      await store.set('bobs', record(now, { userId: 'bob' }));
      await raw('ZADD', store.userKey('alice'), String(now + HOUR), 'bobs');
      await store.set('alices', record(now, { userId: 'alice' }));
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['alices']);
      expect(await store.deleteByUser('alice')).toBe(1);
      expect(await store.get('bobs')).not.toBeNull();
      expect((await store.listByUser('bob')).map((e) => e.key)).toEqual(['bobs']);
    });

    it('indexes a session before writing it, so a failed write leaves at most an extra entry', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice' }));
      // A create that loses the race to an existing live session still indexed first.
      expect(await store.set('k', record(now, { userId: 'carol' }), { expectVersion: null })).toBe(false);
      expect(await raw('ZRANGE', store.userKey('carol'), '0', '-1')).toEqual(['k']);
      expect(await store.listByUser('carol')).toEqual([]);
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['k']);
    });

    it('keeps nothing for a record written already expired', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice' }));
      expect(await store.set('k', record(now, { userId: 'alice', expiresAt: now - 1 }))).toBe(true);
      expect(Number(await raw('EXISTS', store.sessionKey('k')))).toBe(0);
      expect(await store.get('k')).toBeNull();
    });

    it('reads a session whose stored JSON is corrupt as undecodable (version -1) and leaves it out of lists', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('bad', record(now, { userId: 'alice' }));
      await store.set('good', record(now, { userId: 'alice' }));
      await raw('HSET', store.sessionKey('bad'), 'r', '{"version":');
      expect((await store.get('bad'))?.version).toBe(-1);
      expect((await store.listByUser('alice')).map((e) => e.key)).toEqual(['good']);
    });

    it('reads a session with a corrupt number, data value or record JSON as undecodable (version -1)', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      const corruptions: Array<[string, string]> = [
        ['v', 'abc'],
        ['e', '1,2'],
        ['d:n', '{"unclosed":'],
        ['r', '[1,2]'],
      ];
      for (const [index, [field, value]] of corruptions.entries()) {
        const key = `corrupt-${index}`;
        await store.set(key, record(now, { data: { n: 1 } }));
        await raw('HSET', store.sessionKey(key), field, value);
        expect((await store.get(key))?.version, `${field} = ${value}`).toBe(-1);
      }
    });

    it('keeps each data key in a field of its own, which a delta sets and deletes without touching the rest', async () => {
      const { store, hash } = await open();
      const now = Date.now();
      await store.set('k', record(now, { version: 3, data: { big: 'x'.repeat(10_000), n: 1, gone: true } }));
      const before = await hash('k');
      expect(before['d:big']).toBe(JSON.stringify('x'.repeat(10_000)));
      expect(JSON.parse(before['r']!)).not.toHaveProperty('data');
      expect(await store.applyDelta('k', { set: { n: 2, list: [] }, remove: ['gone'], lastSeenAt: now, expiresAt: now + HOUR })).toBe(4);
      const after = await hash('k');
      expect(after['r']).toBe(before['r']);
      expect(after['d:big']).toBe(before['d:big']);
      expect({ n: after['d:n'], list: after['d:list'], gone: after['d:gone'], v: after['v'] }).toEqual({ n: '2', list: '[]', gone: undefined, v: '4' });
      expect((await store.get('k'))?.data).toEqual({ big: 'x'.repeat(10_000), n: 2, list: [] });
    });

    it('reads a session written with its data inside the JSON (the earlier layout), and rewrites it on the first whole write', async () => {
      const { store, raw, hash } = await open();
      const now = Date.now();
      const old = record(now, { version: 2, data: { cart: ['a'], big: 2 ** 53 - 1 } });
      // What the store wrote before data keys had fields of their own.
      await raw('HSET', store.sessionKey('old'), 'v', '2', 'r', JSON.stringify(old), 's', String(now), 'e', String(old.expiresAt));
      await raw('PEXPIRE', store.sessionKey('old'), String(HOUR));
      expect(await store.get('old')).toEqual(old);
      const delta = { set: { cart: ['a', 'b'] }, remove: [], lastSeenAt: now, expiresAt: old.expiresAt };
      expect(await store.applyDelta('old', delta)).toBe('unsupported');
      expect(await store.get('old')).toEqual(old);
      expect(await store.set('old', { ...old, version: 3, data: { ...old.data, cart: ['a', 'b'] } }, { expectVersion: 2 })).toBe(true);
      expect((await hash('old'))['f']).toBe('1');
      expect(await store.applyDelta('old', { ...delta, set: { n: 1 } })).toBe(4);
      expect((await store.get('old'))?.data).toEqual({ cart: ['a', 'b'], big: 2 ** 53 - 1, n: 1 });
    });

    it('loads its scripts again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
      const { store, raw } = await open();
      const now = Date.now();
      await store.set('k', record(now, { userId: 'alice', data: { a: 1 } }));
      await raw('SCRIPT', 'FLUSH');
      expect((await store.get('k'))?.data).toEqual({ a: 1 });
      expect(await store.touch('k', now, now + HOUR)).toBe(true);
      expect(await store.deleteByUser('alice')).toBe(1);
    });

    it('leaves the client open on close(), and closes it with closeClient: true', async () => {
      const t = await connectStandalone(library);
      try {
        const kept = new RedisStore({ client: t.client, prefix: prefixFor('close') });
        await kept.close();
        expect(await t.command(['PING'])).toBe('PONG');
        const owning = new RedisStore({ client: t.client, prefix: prefixFor('close'), closeClient: true });
        await owning.close();
        await expect(t.command(['PING'])).rejects.toThrow();
      } finally {
        await t.close();
      }
    });

    it("rejects with STORE_UNAVAILABLE, the client's error as cause and its message, when the client cannot reach Redis", async () => {
      const t = await connectStandalone(library);
      await t.close();
      const store = new RedisStore({ client: t.client, prefix: prefixFor('closed') });
      const error = await store.get('k').catch((err: unknown) => err);
      expect(isTesseraError(error, 'STORE_UNAVAILABLE')).toBe(true);
      const cause = (error as Error).cause;
      expect(cause).toBeInstanceOf(Error);
      expect((error as Error).message).toBe((cause as Error).message);
      expect((error as { expose?: boolean }).expose).toBe(false);
    });

    it('keeps every key when 20 parallel requests of one session each set a different key', async () => {
      const { store } = await open();
      const { app } = buildApp({ store });
      const server = await listen(app);
      try {
        const created = await request(server.server).post('/set/init/yes').expect(200);
        const cookie = cookieHeader(theSetCookie(created, DEFAULT_NAME));
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            request(server.server).post(`/concurrent/k${i}/v${i}`).set('Cookie', cookie).expect(200),
          ),
        );
        const read = (await request(server.server).get('/whoami').set('Cookie', cookie).expect(200)).body as WhoAmI;
        const expected = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`]));
        expect(read.data).toEqual({ init: 'yes', ...expected });
      } finally {
        await server.close();
      }
    });
  });

  describe('RedisStore options', () => {
    it.each([
      ['no options', () => undefined],
      ['no client', () => ({})],
      ['a client of another kind', () => ({ client: { get: () => undefined } })],
      ['a prefix that is not a string', (client: unknown) => ({ client, prefix: 42 })],
      ['a clock that is not a function', (client: unknown) => ({ client, now: 5 })],
      ['closeClient that is not a boolean', (client: unknown) => ({ client, closeClient: 'yes' })],
    ])('rejects %s at construction with INVALID_OPTION', async (_, options) => {
      const client = (await clientOf('node-redis')).client;
      const error = catchError(() => new RedisStore(options(client) as unknown as RedisStoreOptions));
      expect(isTesseraError(error, 'INVALID_OPTION')).toBe(true);
    });

    it('accepts every client shape: node-redis client, ioredis client', async () => {
      for (const library of LIBRARIES) {
        const client: RedisClientLike = (await clientOf(library)).client;
        expect(() => new RedisStore({ client })).not.toThrow();
      }
    });
  });
});

/** HGETALL as an object, whichever shape the client returned (flat array or map). */
function toObject(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const result: Record<string, string> = {};
    for (let n = 0; n + 1 < reply.length; n += 2) result[String(reply[n])] = String(reply[n + 1]);
    return result;
  }
  return Object.fromEntries(Object.entries(reply as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}
