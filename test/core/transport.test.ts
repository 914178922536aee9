/**
 * Reading the session token from a header, and deciding a request's transport: the documented
 * rules, and a property that no header value (any string, any number of occurrences) makes the
 * reader or the engine throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSessions } from '../../src/core/engine.js';
import { readTokenHeader, transportOf, headerValueOf, MAX_TOKEN_HEADER_LENGTH } from '../../src/core/transport.js';
import { MemoryStore } from '../../src/store/memory.js';
import { frozenClock } from '../helpers/clock.js';
import { SECRET } from '../helpers/express-app.js';

const VALUE = 'AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB.k1.abc+/=';

describe('readTokenHeader', () => {
  it('reads Authorization: Bearer in any case of the scheme, with SP or HTAB around the value', () => {
    for (const header of [`Bearer ${VALUE}`, `bearer ${VALUE}`, `BEARER\t${VALUE} `, ` Bearer  ${VALUE}`]) {
      expect(readTokenHeader(header, 'authorization')).toEqual({ kind: 'present', value: `s:${VALUE}` });
    }
  });

  it('takes another Authorization scheme for no token of its own, and a named header for the value alone', () => {
    expect(readTokenHeader('Basic YTpi', 'authorization')).toEqual({ kind: 'absent' });
    expect(readTokenHeader(undefined, 'authorization')).toEqual({ kind: 'absent' });
    expect(readTokenHeader(VALUE, 'x-session-token')).toEqual({ kind: 'present', value: `s:${VALUE}` });
    expect(readTokenHeader(`Bearer ${VALUE}`, 'x-session-token')).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('refuses duplicates, oversized values and anything but one b64token', () => {
    expect(readTokenHeader([`Bearer ${VALUE}`, 'Basic YTpi'], 'authorization')).toEqual({ kind: 'invalid', reason: 'duplicate' });
    expect(readTokenHeader([VALUE, VALUE], 'x-session-token')).toEqual({ kind: 'invalid', reason: 'duplicate' });
    expect(readTokenHeader(`Bearer ${'A'.repeat(MAX_TOKEN_HEADER_LENGTH)}`, 'authorization')).toEqual({ kind: 'invalid', reason: 'oversized' });
    for (const bad of ['Bearer', 'Bearer ', `Bearer ${VALUE} x`, `Bearer ${VALUE},${VALUE}`, `Bearer s:${VALUE}`, 'Bearer a=b']) {
      expect(readTokenHeader(bad, 'authorization'), bad).toEqual({ kind: 'invalid', reason: 'malformed' });
    }
  });

  it('never throws, whatever the header holds', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined)), fc.constantFrom('authorization', 'x-token'), (values, name) => {
        const found = readTokenHeader(values, name);
        expect(['absent', 'present', 'invalid']).toContain(found.kind);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('transportOf', () => {
  const settings = { transport: 'both' as const, tokenHeader: 'authorization', responseTokenHeader: 'Tessera-Session' };

  it("decides 'both' by the header's presence: even a bad Bearer header means the header transport", () => {
    expect(transportOf(settings, {})).toBe('cookie');
    expect(transportOf(settings, { tokenHeader: 'Basic YTpi' })).toBe('cookie');
    expect(transportOf(settings, { tokenHeader: 'Bearer !!' })).toBe('header');
    expect(transportOf(settings, { tokenHeader: `Bearer ${VALUE}`, transport: 'cookie' })).toBe('cookie');
    expect(transportOf({ ...settings, transport: 'header' }, {})).toBe('header');
  });

  it('gives a header client the cookie value without its s: prefix', () => {
    expect(headerValueOf(`s:${VALUE}`)).toBe(VALUE);
  });
});

describe('engine with the header transport', () => {
  it('loads no session, and asks the store nothing, for any header value that is not a token it signed', async () => {
    const clock = frozenClock();
    let reads = 0;
    const store = new MemoryStore({ now: clock.now, sweepIntervalMs: 0 });
    const get = store.get.bind(store);
    store.get = (key) => {
      reads += 1;
      return get(key);
    };
    const engine = createSessions({ secret: SECRET, store, now: clock.now, transport: 'header' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string().map((s) => `Bearer ${s}`), fc.array(fc.string(), { maxLength: 3 })), async (values) => {
        const rs = await engine.load({ cookie: undefined, secure: true, tokenHeader: values });
        expect(rs.isNew).toBe(true);
        expect(rs.transport).toBe('header');
      }),
      { numRuns: 500 },
    );
    expect(reads).toBe(0);
  });
});
