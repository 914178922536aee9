/**
 * Hostile input against `tessera/tokens`, opaque and JWT modes: whatever string (or other JSON
 * value) comes as an access token, a refresh token or an `Authorization` header, the answer is
 * "no" (`null`, `{ ok: false }`, a 401), never an exception, never a grant for a token tessera
 * did not issue, and never a store call for an access token whose signature does not verify.
 * Mutations of real tokens (one character changed, cut, extended, parts swapped between
 * kinds) are refused too; the unchanged token still works after all of them.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { MemoryStore } from '../../src/store/memory.js';
import { checkBearer, refreshReply } from '../../src/tokens/guard.js';
import { createTokens, type TokenOptions, type TokenPair, type Tokens } from '../../src/tokens/index.js';
import { frozenClock } from '../helpers/clock.js';
import { SECRET } from '../helpers/express-app.js';
import { RecordingStore } from '../helpers/recording-store.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A real token with one character replaced, some cut off, or some appended. */
function mutationOf(token: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...B64URL, '.', '=', ' ', '\u00a0')).map(([at, char]) => token.slice(0, at) + (token[at] === char ? (char === 'A' ? 'B' : 'A') : char) + token.slice(at + 1)),
    fc.nat({ max: token.length - 1 }).map((cut) => token.slice(0, cut)),
    fc.string({ minLength: 1, maxLength: 8 }).map((tail) => token + tail),
  );
}

const hostile = fc.oneof(
  fc.string({ maxLength: 600 }),
  fc.stringMatching(/^[A-Za-z0-9._~+/=-]{1,700}$/),
  fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{0,80}$/), { minLength: 2, maxLength: 7 }).map((parts) => parts.join('.')),
  fc.constantFrom('', '.', '..', 'tr1', 'ta1....', 'Bearer', 'null', 'x'.repeat(5000)),
);

describe.each<[string, TokenOptions]>([
  ['opaque', {}],
  ['jwt EdDSA', { accessTokens: 'jwt' }],
  ['jwt HS256', { accessTokens: 'jwt', jwt: { algorithm: 'HS256' } }],
])('tokens under hostile input (%s)', (_name, options) => {
  let tokens: Tokens;
  let store: RecordingStore;
  let pair: TokenPair;

  beforeAll(async () => {
    const clock = frozenClock();
    store = new RecordingStore(new MemoryStore({ now: clock.now, sweepIntervalMs: 0 }));
    tokens = createTokens(createSessions({ secret: SECRET, store, now: clock.now, onEvent: () => {} }), options);
    pair = await tokens.issue('alice');
  });

  it('refuses arbitrary access tokens and Authorization headers without throwing or asking the store', async () => {
    const reads = store.calls.length;
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        expect(await tokens.verifyAccess(value)).toBeNull();
        expect((await checkBearer(tokens, `Bearer ${value}`, {})).ok).toBe(false);
        expect((await checkBearer(tokens, [`Bearer ${pair.accessToken}`, `Bearer ${value}`], {})).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
    expect(store.calls.length).toBe(reads);
  });

  it('refuses every mutation of a real access token, and still admits the real one', async () => {
    await fc.assert(
      fc.asyncProperty(mutationOf(pair.accessToken), async (mutated) => {
        fc.pre(mutated !== pair.accessToken);
        expect(await tokens.verifyAccess(mutated)).toBeNull();
      }),
      { numRuns: 300 },
    );
    expect((await tokens.verifyAccess(pair.accessToken))?.userId).toBe('alice');
  });

  it('answers arbitrary refresh bodies with 401 invalid_grant, never a throw, and leaves the family alone', async () => {
    const bodies = fc.oneof(
      hostile.map((refreshToken) => ({ refreshToken })),
      mutationOf(pair.refreshToken).filter((t) => t !== pair.refreshToken).map((refreshToken) => ({ refreshToken })),
      fc.jsonValue(),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const reply = await refreshReply(tokens, body, {});
        expect(reply.status).toBe(401);
        expect(reply.body['error']).toBe('invalid_grant');
      }),
      { numRuns: 300 },
    );
    // No mutation was taken for a replay of the real token: the family still refreshes.
    expect((await tokens.refresh(pair.refreshToken)).ok).toBe(true);
  });
});
