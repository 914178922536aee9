import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../src/core/errors.js';
import { KeyRing, MIN_SECRET_BYTES } from '../../src/core/keyring.js';
import { generateToken, newIdentity, type Identity } from '../../src/core/token.js';

const A = 'first-secret-for-keyring-tests-0123456789';
const B = 'second-secret-for-keyring-tests-987654321';
const SHORT = 'keyboard cat';

const VALUE_SHAPE = /^s:[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{1,16}\.[A-Za-z0-9+/]{43}$/;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** An express-session cookie value, as cookie-signature writes it (without the `s:` prefix). */
function expressSigned(sid: string, secret: string): string {
  return `${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`;
}

/** A format-2 value for an identity signed with `secret` under `keyId`, as cookie-signature signs. */
function v2(identity: Identity, keyId: string, secret: string): string {
  const payload = `${identity.sid}.${identity.token}.${keyId}`;
  return `s:${expressSigned(payload, secret)}`;
}

/** A tessera 0.1 value for `token`, computed independently. */
function v1(token: string, keyId: string, secret: string): string {
  const payload = `v1.${token}.${keyId}`;
  return `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
}

/** `[sid, token, keyId, signature]` of a format-2 value. */
function parts(value: string): [string, string, string, string] {
  return value.slice(2).split('.') as [string, string, string, string];
}

describe('KeyRing', () => {
  it('verifies what it signs and returns the identity, with no re-sign needed', () => {
    const ring = new KeyRing(A);
    const identity = newIdentity();

    expect(ring.verify(ring.sign(identity))).toEqual({ kind: 'token', identity, keyId: ring.signingKeyId, resign: false, format: 2 });
  });

  it('signs values of one constant structure: s:, the session id, the token, the key id, a 43-character signature', () => {
    const ring = new KeyRing([{ id: 'k2025', secret: A }]);
    const values = Array.from({ length: 50 }, () => ring.sign(newIdentity()));

    for (const value of values) {
      expect(value).toMatch(VALUE_SHAPE);
      expect(value).toHaveLength(values[0]!.length);
      expect(parts(value)[2]).toBe('k2025');
    }
  });

  it('signs "<sid>.<token>.<keyId>" as express-session\'s cookie-signature does (HMAC-SHA256, base64 without padding)', () => {
    const ring = new KeyRing({ id: 'main', secret: A });
    const identity = newIdentity();

    expect(ring.sign(identity)).toBe(v2(identity, 'main', A));
  });

  it('still verifies tessera 0.1 values, whose token is also their session id, and asks for a re-sign in the current format', () => {
    const ring = new KeyRing({ id: 'main', secret: A });
    const token = generateToken();

    expect(ring.verify(v1(token, 'main', A))).toEqual({ kind: 'token', identity: { sid: token, token }, keyId: 'main', resign: true, format: 1 });
    expect(ring.verify(v1(token, 'main', B))).toEqual({ kind: 'invalid', reason: 'bad_signature' });
  });

  it('derives a stable 6-character key id from a secret given without one', () => {
    const id = parts(new KeyRing(A).sign(newIdentity()))[2];

    expect(id).toMatch(/^[A-Za-z0-9_-]{6}$/);
    expect(parts(new KeyRing(A).sign(newIdentity()))[2]).toBe(id);
    expect(parts(new KeyRing(B).sign(newIdentity()))[2]).not.toBe(id);
    expect(new KeyRing(A).signingKeyId).toBe(id);
  });

  it('accepts a Buffer secret the same as its string', () => {
    const identity = newIdentity();

    expect(new KeyRing(Buffer.from(A, 'utf8')).sign(identity)).toBe(new KeyRing(A).sign(identity));
  });

  it('refuses a tampered signature', () => {
    const ring = new KeyRing(A);
    const [sid, token, keyId, signature] = parts(ring.sign(newIdentity()));
    const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');

    expect(ring.verify(`s:${sid}.${token}.${keyId}.${flipped}`)).toEqual({ kind: 'invalid', reason: 'bad_signature' });
    expect(ring.verify(`s:${sid}.${token}.${keyId}.${signature.slice(0, -1)}`)).toEqual({
      kind: 'invalid',
      reason: 'bad_signature',
    });
  });

  it('refuses a token or a session id swapped under a valid signature', () => {
    const ring = new KeyRing(A);
    const [sid, token, keyId, signature] = parts(ring.sign(newIdentity()));
    const other = newIdentity();

    expect(ring.verify(`s:${sid}.${other.token}.${keyId}.${signature}`)).toEqual({ kind: 'invalid', reason: 'bad_signature' });
    expect(ring.verify(`s:${other.sid}.${token}.${keyId}.${signature}`)).toEqual({ kind: 'invalid', reason: 'bad_signature' });
  });

  it('refuses a value naming a key id it does not hold', () => {
    const ring = new KeyRing(A);

    expect(ring.verify(v2(newIdentity(), 'nosuch', A))).toEqual({ kind: 'invalid', reason: 'unknown_key' });
  });

  it('refuses values signed by a retired key (removed from the ring)', () => {
    const identity = newIdentity();
    const old = new KeyRing([{ id: 'old', secret: B }]).sign(identity);
    const rotated = new KeyRing([{ id: 'new', secret: A }, { id: 'old', secret: B }]);
    const retired = new KeyRing([{ id: 'new', secret: A }]);

    expect(rotated.verify(old)).toEqual({ kind: 'token', identity, keyId: 'old', resign: true, format: 2 });
    expect(retired.verify(old)).toEqual({ kind: 'invalid', reason: 'unknown_key' });
  });

  it('verifies with every key but signs with the first, asking for a re-sign of older-key values', () => {
    const identity = newIdentity();
    const ring = new KeyRing([A, B]);
    const byB = new KeyRing(B).sign(identity);

    expect(ring.verify(byB)).toMatchObject({ kind: 'token', identity, resign: true });
    expect(ring.sign(identity)).toBe(new KeyRing(A).sign(identity));
    expect(ring.verify(ring.sign(identity))).toMatchObject({ kind: 'token', identity, resign: false });
  });

  it('derives the same rotation token for the same identity, a different one for another, none for a retired key', () => {
    const ring = new KeyRing([{ id: 'new', secret: A }, { id: 'old', secret: B }]);
    const identity = newIdentity();
    const next = ring.rotationToken('new', identity)!;

    expect(next).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ring.rotationToken('new', identity)).toBe(next);
    expect(ring.rotationToken('new', { sid: identity.sid, token: generateToken() })).not.toBe(next);
    expect(ring.rotationToken('old', identity)).not.toBe(next);
    expect(new KeyRing([{ id: 'new', secret: A }]).rotationToken('old', identity)).toBeUndefined();
    expect(next).not.toBe(identity.token);
  });

  it('refuses a key id reused with another secret', () => {
    const forged = v2(newIdentity(), 'main', B);

    expect(new KeyRing({ id: 'main', secret: A }).verify(forged)).toEqual({ kind: 'invalid', reason: 'bad_signature' });
  });

  it.each([
    ['an empty string', ''],
    ['a bare token', generateToken()],
    ['another format version', `v3.${generateToken()}.abc.${'x'.repeat(43)}`],
    ['a signed value with too many parts', `s:${newIdentity().sid}.${generateToken()}.abc.def.${'x'.repeat(43)}`],
    ['a signed value with a session id of the wrong length', `s:abc.${generateToken()}.abc.${'x'.repeat(43)}`],
    ['too few parts', `v1.${generateToken()}.abc`],
    ['too many parts', `v1.${generateToken()}.abc.def.ghi`],
    ['a short token', `v1.abc.abc.${'x'.repeat(43)}`],
    ['a token with characters outside base64url', `v1.${'+'.repeat(43)}.abc.${'x'.repeat(43)}`],
    ['an oversized value', `v1.${'a'.repeat(600)}.abc.def`],
    ['an express-session value when legacy cookies are not accepted', `s:${expressSigned('sid123', A)}`],
  ])('refuses %s as malformed', (_label, value) => {
    expect(new KeyRing(A).verify(value)).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('throws INVALID_OPTION for a weak first secret in production: shorter than 32 bytes, or repetitive', () => {
    for (const secret of [SHORT, 'x'.repeat(MIN_SECRET_BYTES - 1), 'x'.repeat(MIN_SECRET_BYTES), 'ab'.repeat(40), Buffer.alloc(32), [SHORT, A]]) {
      expect(isTesseraError(thrown(() => new KeyRing(secret, { production: true })), 'INVALID_OPTION')).toBe(true);
    }
    expect(() => new KeyRing(A, { production: true })).not.toThrow();
    expect(() => new KeyRing(randomBytes(32), { production: true })).not.toThrow();
  });

  it('accepts a weak first secret outside production, marks the ring weak, and signs with it', () => {
    const ring = new KeyRing(SHORT, { production: false });
    const identity = newIdentity();

    expect(ring.weak).toBe(true);
    expect(new KeyRing(A, { production: false }).weak).toBe(false);
    expect(ring.verify(ring.sign(identity))).toMatchObject({ kind: 'token', identity });
  });

  it('counts secret length in UTF-8 bytes, not characters', () => {
    const sixteen = 'éΩжשعßπДאقñλфבهü'; // 16 characters, 32 bytes: enough
    expect(Buffer.byteLength(sixteen)).toBe(32);
    expect(() => new KeyRing(sixteen, { production: true })).not.toThrow();
    expect(isTesseraError(thrown(() => new KeyRing(sixteen.slice(0, 15), { production: true })), 'INVALID_OPTION')).toBe(true);
  });

  it('throws INVALID_OPTION for no secret, duplicate key ids, or a malformed key id', () => {
    const cases: unknown[] = [
      [],
      [{ id: 'same', secret: A }, { id: 'same', secret: B }],
      { id: 'has.dot', secret: A },
      { id: '', secret: A },
      { id: 'x'.repeat(17), secret: A },
    ];
    for (const input of cases) {
      expect(isTesseraError(thrown(() => new KeyRing(input as never)), 'INVALID_OPTION')).toBe(true);
    }
  });

  it('in production, uses a short later secret only to verify express-session s: cookies, never tokens', () => {
    const ring = new KeyRing([A, { id: 'legacy', secret: SHORT }], { production: true });
    const shortSigned = v2(newIdentity(), 'legacy', SHORT);

    expect(ring.verify(shortSigned)).toEqual({ kind: 'invalid', reason: 'unknown_key' });
    expect(ring.verify(shortSigned, true)).toEqual({ kind: 'invalid', reason: 'unknown_key' });
    expect(ring.verify(`s:${expressSigned('abc-sid', SHORT)}`, true)).toEqual({ kind: 'legacy', sid: 'abc-sid' });
  });

  it('verifies express-session cookies signed with any secret of the ring, and refuses forged ones', () => {
    const ring = new KeyRing([A, B, SHORT]);

    for (const secret of [A, B, SHORT]) {
      expect(ring.verify(`s:${expressSigned('sid.with.dots', secret)}`, true)).toEqual({ kind: 'legacy', sid: 'sid.with.dots' });
    }
    expect(ring.verify(`s:${expressSigned('abc', 'some other secret')}`, true)).toEqual({
      kind: 'invalid',
      reason: 'bad_signature',
    });
    expect(ring.verify('s:no-signature', true)).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(ring.verify('s:.sig', true)).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('derives a reference key from the signing secret that is not the secret itself', () => {
    const ring = new KeyRing([A, B]);

    expect(ring.referenceKey).toHaveLength(32);
    expect(ring.referenceKey.equals(Buffer.from(A))).toBe(false);
    expect(ring.referenceKey.equals(new KeyRing(A).referenceKey)).toBe(true);
    expect(ring.referenceKey.equals(createHash('sha256').update(A).digest())).toBe(false);
  });
});

describe('KeyRing.migrationIdentity', () => {
  const ring = new KeyRing([{ id: 'k1', secret: 'migration-test-secret-0123456789-abcdefghij' }]);

  it('gives every request showing one express-session id the same identity, shaped like a random one', () => {
    const a = ring.migrationIdentity('Zk3uM1Yv0yJcXq0rXl3HqfLr7mXW5c2D');
    const b = ring.migrationIdentity('Zk3uM1Yv0yJcXq0rXl3HqfLr7mXW5c2D');
    expect(a).toEqual(b);
    const random = newIdentity();
    expect(a.sid).toHaveLength(random.sid.length);
    expect(a.token).toHaveLength(random.token.length);
    expect(a.sid).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('differs per old id and per signing key, and contains neither the old id nor the secret', () => {
    const id = 'Zk3uM1Yv0yJcXq0rXl3HqfLr7mXW5c2D';
    const a = ring.migrationIdentity(id);
    expect(ring.migrationIdentity(`${id}x`)).not.toEqual(a);
    const other = new KeyRing([{ id: 'k1', secret: 'another-migration-secret-9876543210-zyxwvu' }]);
    expect(other.migrationIdentity(id).token).not.toBe(a.token);
    expect(a.sid).not.toBe(a.token.slice(0, a.sid.length));
    expect(`${a.sid}.${a.token}`).not.toContain(id);
  });
});
