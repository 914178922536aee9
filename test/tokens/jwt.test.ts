/**
 * Stateless access tokens (`accessTokens: 'jwt'`) over real HTTP, clock frozen: they verify
 * without a store read, a revocation ends them within their lifetime (and their refresh at
 * once), they verify across a key rotation and not after their key left the ring, other
 * services verify them with the published keys alone, and forged ones are refused.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessions, type Engine } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { createTokens, refreshEndpoint, requireAccessToken, type AccessSession, type TokenOptions, type Tokens } from '../../src/tokens/index.js';
import { frozenClock, MINUTE, type TestClock } from '../helpers/clock.js';
import { listen, OTHER_SECRET, SECRET } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Api {
  engine: Engine;
  tokens: Tokens;
  url: string;
  me(accessToken: string): Promise<{ status: number; userId?: string; fresh?: boolean }>;
  refresh(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** An API on `store` with a key ring of `secret` and tokens of `options`, served over HTTP. */
async function api(clock: TestClock, store: Store, secret: string | string[] | Array<{ id: string; secret: string }>, options: TokenOptions = { accessTokens: 'jwt' }): Promise<Api> {
  const engine = createSessions({ secret, store, now: clock.now });
  const tokens = createTokens(engine, options);
  const app = express();
  app.post('/api/token/refresh', refreshEndpoint(tokens));
  app.get('/api/me', requireAccessToken(tokens), (req, res) => {
    const access = (req as Request & { tessera: AccessSession }).tessera;
    res.json({ userId: access.userId, fresh: access.isFresh(5 * MINUTE) });
  });
  app.use((error: { status?: number }, _req: Request, res: Response, _next: NextFunction) => void res.status(error.status ?? 500).json({}));
  const server = await listen(app);
  closers.push(() => server.close());
  return {
    engine,
    tokens,
    url: server.url,
    async me(accessToken) {
      const response = await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      return { status: response.status, ...((await response.json()) as { userId?: string; fresh?: boolean }) };
    },
    async refresh(refreshToken) {
      const response = await fetch(`${server.url}/api/token/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

const memory = (clock: TestClock): MemoryStore => new MemoryStore({ now: clock.now, sweepIntervalMs: 0 });
const KEY_A = { id: 'a', secret: SECRET };
const KEY_B = { id: 'b', secret: OTHER_SECRET };

/** The decoded JSON of a JWT's header and payload. */
function decode(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = jwt.split('.') as [string, string];
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>, payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown> };
}

describe("stateless access tokens (accessTokens: 'jwt')", () => {
  it('verifies an access token without reading the store, with the user, family and sign-in time in it', async () => {
    const clock = frozenClock();
    const store = new RecordingStore(memory(clock));
    const server = await api(clock, store, [KEY_A]);
    const pair = await server.tokens.issue('alice', { device: 'iPhone 15' });
    const { header, payload } = decode(pair.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: 'a' });
    const [family] = await server.engine.listUserSessions('alice');
    expect(payload).toMatchObject({ sub: 'alice', sid: family!.id, auth_time: Math.floor(clock.now() / 1000), exp: Math.floor(pair.accessExpiresAt / 1000) });
    const readsBefore = store.calls.filter((call) => call.op === 'get').length;
    expect(await server.me(pair.accessToken)).toEqual({ status: 200, userId: 'alice', fresh: true });
    clock.advance(10 * MINUTE);
    expect(await server.me(pair.accessToken)).toEqual({ status: 200, userId: 'alice', fresh: false });
    expect(store.calls.filter((call) => call.op === 'get').length).toBe(readsBefore);
  });

  it('after revokeUser, refuses the refresh at once and the access token when it expires, never later than accessLifetime', async () => {
    const clock = frozenClock();
    const server = await api(clock, memory(clock), [KEY_A], { accessTokens: 'jwt', accessLifetime: 10 * MINUTE });
    const pair = await server.tokens.issue('alice');
    expect(pair.accessExpiresAt - clock.now()).toBeLessThanOrEqual(10 * MINUTE);
    clock.advance(MINUTE);
    await server.engine.revokeUser('alice');
    expect((await server.refresh(pair.refreshToken)).body).toEqual({ error: 'invalid_grant', reason: 'unknown' });
    // The revocation delay of a stateless token: it still verifies until its expiry ...
    clock.set(pair.accessExpiresAt - 1);
    expect((await server.me(pair.accessToken)).status).toBe(200);
    // ... and not one millisecond after.
    clock.set(pair.accessExpiresAt);
    expect((await server.me(pair.accessToken)).status).toBe(401);
  });

  it('gives the very same access token to a refresh retried after its response was lost', async () => {
    const clock = frozenClock();
    const server = await api(clock, memory(clock), [KEY_A]);
    const pair = await server.tokens.issue('alice');
    clock.advance(MINUTE);
    const first = await server.refresh(pair.refreshToken);
    clock.advance(5_000);
    const retried = await server.refresh(pair.refreshToken);
    expect(first.status).toBe(200);
    expect(retried.body['accessToken']).toBe(first.body['accessToken']);
    expect(retried.body['refreshToken']).toBe(first.body['refreshToken']);
    expect((await server.me(String(first.body['accessToken']))).userId).toBe('alice');
  });

  it('verifies tokens of a key that is no longer first, and refuses those of a key removed from the ring', async () => {
    const clock = frozenClock();
    const store = memory(clock);
    const before = await api(clock, store, [KEY_A]);
    const old = await before.tokens.issue('alice');
    const rotated = await api(clock, store, [KEY_B, KEY_A]);
    expect((await rotated.me(old.accessToken)).status).toBe(200);
    const fresh = await rotated.tokens.issue('bob');
    expect(decode(fresh.accessToken).header['kid']).toBe('b');
    const retired = await api(clock, store, [KEY_B]);
    expect((await retired.me(old.accessToken)).status).toBe(401);
    expect((await retired.me(fresh.accessToken)).status).toBe(200);
  });

  it('publishes public keys with which another service verifies the tokens using jose alone', async () => {
    const clock = frozenClock(Date.now());
    const server = await api(clock, memory(clock), [KEY_B, KEY_A], { accessTokens: 'jwt', jwt: { issuer: 'https://api.example', audience: 'api' } });
    const jwks = server.tokens.jwks();
    expect(jwks.keys.map((key) => key.kid)).toEqual(['b', 'a']);
    expect(JSON.stringify(jwks)).not.toMatch(/"d"/); // no private part
    const pair = await server.tokens.issue('alice');
    const { payload } = await jwtVerify(pair.accessToken, createLocalJWKSet(jwks), { issuer: 'https://api.example', audience: 'api', typ: 'at+jwt' });
    expect(payload.sub).toBe('alice');
    const hs = await api(clock, memory(clock), [KEY_A], { accessTokens: 'jwt', jwt: { algorithm: 'HS256' } });
    expect(() => hs.tokens.jwks()).toThrow(/HS256 keys are secret/);
    const opaque = await api(clock, memory(clock), [KEY_A], {});
    expect(() => opaque.tokens.jwks()).toThrow(/only stateless access tokens/);
  });

  it("refuses alg 'none', another algorithm, an edited payload, another audience and opaque tokens, with a 401 and never a 5xx", async () => {
    const clock = frozenClock();
    const store = memory(clock);
    const server = await api(clock, store, [KEY_A], { accessTokens: 'jwt', jwt: { audience: 'api' } });
    const pair = await server.tokens.issue('alice');
    const [header, payload, signature] = pair.accessToken.split('.') as [string, string, string];
    const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const edited = b64({ ...decode(pair.accessToken).payload, sub: 'admin' });
    const hs256 = await api(clock, store, [KEY_A], { accessTokens: 'jwt', jwt: { algorithm: 'HS256', audience: 'api' } });
    const otherAudience = await api(clock, store, [KEY_A], { accessTokens: 'jwt', jwt: { audience: 'billing' } });
    const opaque = await api(clock, store, [KEY_A], {});
    const forged = [
      `${b64({ alg: 'none', typ: 'at+jwt', kid: 'a' })}.${payload}.`,
      `${header}.${edited}.${signature}`,
      // One signature character changed (not the last, whose low bits are padding).
      `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`,
      (await hs256.tokens.issue('alice')).accessToken,
      (await otherAudience.tokens.issue('alice')).accessToken,
      (await opaque.tokens.issue('alice')).accessToken,
      pair.refreshToken,
      'a.b.c',
      `${header}.${payload}.${signature}.${signature}`,
    ];
    for (const token of forged) expect((await server.me(token)).status, token).toBe(401);
    // And the other way round: a JWT is not an opaque access token.
    expect((await opaque.me(pair.accessToken)).status).toBe(401);
    expect((await server.me(pair.accessToken)).status).toBe(200);
  });

  it('carries the longest token it can sign through the Authorization header: a 256-character user id, the longest issuer and audience', async () => {
    const clock = frozenClock();
    const audience = ['a'.repeat(256), 'b'.repeat(256)];
    const server = await api(clock, memory(clock), [KEY_A], { accessTokens: 'jwt', jwt: { issuer: `https://${'i'.repeat(248)}`, audience } });
    const userId = '€'.repeat(256); // 768 bytes of UTF-8
    const pair = await server.tokens.issue(userId);
    expect(pair.accessToken.length).toBeGreaterThan(1024); // longer than a session token header may be
    expect(await server.me(pair.accessToken)).toMatchObject({ status: 200, userId });
  });

  it('refuses options that cannot be meant', () => {
    const engine = createSessions({ secret: SECRET, store: new MemoryStore({ sweepIntervalMs: 0 }) });
    expect(() => createTokens(engine, { accessTokens: 'jws' as 'jwt' })).toThrow(/accessTokens must be one of "opaque", "jwt"/);
    expect(() => createTokens(engine, { jwt: { algorithm: 'HS256' } })).toThrow(/only used with accessTokens: 'jwt'/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { algorithm: 'RS256' as 'EdDSA' } })).toThrow(/jwt.algorithm must be one of/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { audience: [] } })).toThrow(/jwt.audience/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { issuer: '' } })).toThrow(/jwt.issuer/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { issuer: 'i'.repeat(257) } })).toThrow(/at most 256 characters/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { audience: ['a'.repeat(300), 'b'.repeat(300)] } })).toThrow(/512 characters at most/);
    expect(() => createTokens(engine, { accessTokens: 'jwt', jwt: { audiance: 'x' } as never })).toThrow(/did you mean "audience"/);
  });
});
