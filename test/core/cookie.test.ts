import { describe, expect, it } from 'vitest';
import { readCookie } from '../../src/core/cookie-reader.js';
import {
  resolveCookieOptions,
  serializeClearCookie,
  serializeCookie,
  type CookieOptions,
} from '../../src/core/cookie.js';
import { isTesseraError } from '../../src/core/errors.js';
import { T0 } from '../helpers/clock.js';
import { parseSetCookie } from '../helpers/cookies.js';

function refusal(options: CookieOptions): unknown {
  try {
    resolveCookieOptions(options);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('resolveCookieOptions', () => {
  it('defaults to a Secure, Lax, host-only __Host-sid browser-session cookie on Path=/', () => {
    expect(resolveCookieOptions()).toEqual({
      name: '__Host-sid',
      secure: true,
      sameSite: 'lax',
      path: '/',
      domain: undefined,
      maxAge: null,
      partitioned: false,
      priority: undefined,
      clearOnDuplicate: [],
    });
  });

  it("names an insecure or 'auto' cookie 'sid' unless told otherwise", () => {
    expect(resolveCookieOptions({ secure: false }).name).toBe('sid');
    expect(resolveCookieOptions({ secure: 'auto' }).name).toBe('sid');
    expect(resolveCookieOptions({ secure: false, name: 'app' }).name).toBe('app');
  });

  it.each<[string, CookieOptions]>([
    ['a __Host- cookie without secure: true', { name: '__Host-sid', secure: false }],
    ["a __Host- cookie with secure: 'auto'", { name: '__Host-sid', secure: 'auto' }],
    ['a __Host- cookie with a domain', { name: '__Host-sid', domain: 'example.com' }],
    ['a __Host- cookie with a path other than /', { name: '__Host-sid', path: '/app' }],
    ['a __Secure- cookie without secure: true', { name: '__Secure-sid', secure: false }],
    ['SameSite=None without secure', { sameSite: 'none', secure: false }],
    ["SameSite=None with secure: 'auto'", { sameSite: 'none', secure: 'auto' }],
    ['Partitioned without secure', { partitioned: true, secure: false }],
    ['a name that is not an HTTP token', { name: 'my sid' }],
    ['a name with a separator', { name: 'sid;Domain=evil.example' }],
    ['a path not starting with /', { path: 'app', name: 'sid' }],
    ['an unknown SameSite value', { sameSite: 'loose' as never }],
    ['an unknown secure value', { secure: 'yes' as never }],
    ['a zero maxAge', { maxAge: 0 }],
    ['a negative maxAge', { maxAge: -1 }],
    ['an infinite maxAge', { maxAge: Infinity }],
  ])('refuses %s with INVALID_OPTION', (_label, options) => {
    expect(isTesseraError(refusal(options), 'INVALID_OPTION')).toBe(true);
  });

  it('accepts SameSite=None and Partitioned on a secure cookie, and a domain on a plain name', () => {
    expect(resolveCookieOptions({ sameSite: 'none', partitioned: true })).toMatchObject({ sameSite: 'none', partitioned: true });
    expect(resolveCookieOptions({ name: 'sid', domain: 'example.com', path: '/app' })).toMatchObject({
      domain: 'example.com',
      path: '/app',
    });
  });
});

describe('readCookie', () => {
  it('reports a missing header or a header without the cookie as absent', () => {
    expect(readCookie(undefined, 'sid')).toEqual({ kind: 'absent' });
    expect(readCookie('', 'sid')).toEqual({ kind: 'absent' });
    expect(readCookie('other=1; theme=dark', 'sid')).toEqual({ kind: 'absent' });
  });

  it('does not mistake a cookie whose name only contains the name for it', () => {
    expect(readCookie('xsid=1; sidx=2; __Host-sid=3', 'sid')).toEqual({ kind: 'absent' });
    expect(readCookie('flag; sid', 'sid')).toEqual({ kind: 'absent' });
  });

  it('finds the cookie among others and trims spaces around it', () => {
    expect(readCookie('a=1;  sid = v1.abc ;b=2', 'sid')).toEqual({ kind: 'present', value: 'v1.abc' });
    expect(readCookie('sid=first', 'sid')).toEqual({ kind: 'present', value: 'first' });
  });

  it('refuses a cookie that appears twice (cookie tossing), within one header or across several', () => {
    expect(readCookie('sid=a; other=1; sid=b', 'sid')).toEqual({ kind: 'invalid', reason: 'duplicate' });
    expect(readCookie('sid=a; sid=a', 'sid')).toEqual({ kind: 'invalid', reason: 'duplicate' });
    expect(readCookie(['sid=a', 'sid=b'], 'sid')).toEqual({ kind: 'invalid', reason: 'duplicate' });
  });

  it('reads the cookie from a list of headers', () => {
    expect(readCookie(['a=1', 'sid=x'], 'sid')).toEqual({ kind: 'present', value: 'x' });
  });

  it('refuses an oversized header before scanning it', () => {
    const huge = `sid=v; pad=${'x'.repeat(16 * 1024)}`;

    expect(readCookie(huge, 'sid')).toEqual({ kind: 'invalid', reason: 'oversized' });
    expect(readCookie(['sid=v', `pad=${'x'.repeat(16 * 1024)}`], 'sid')).toEqual({ kind: 'invalid', reason: 'oversized' });
  });

  it('strips RFC 6265 double quotes', () => {
    expect(readCookie('sid="v1.abc.def"', 'sid')).toEqual({ kind: 'present', value: 'v1.abc.def' });
    expect(readCookie('sid="', 'sid')).toEqual({ kind: 'present', value: '"' });
  });

  it('percent-decodes the value (express-session writes s%3A...)', () => {
    expect(readCookie('connect.sid=s%3Aabc.def%2Bg', 'connect.sid')).toEqual({ kind: 'present', value: 's:abc.def+g' });
    expect(readCookie('sid="s%3Aabc"', 'sid')).toEqual({ kind: 'present', value: 's:abc' });
  });

  it('refuses a value whose percent-encoding is broken, without throwing', () => {
    expect(readCookie('sid=%E0%A4%A', 'sid')).toEqual({ kind: 'invalid', reason: 'malformed' });
    expect(readCookie('sid=%zz', 'sid')).toEqual({ kind: 'invalid', reason: 'malformed' });
  });

  it('keeps "=" inside a value', () => {
    expect(readCookie('sid=a=b', 'sid')).toEqual({ kind: 'present', value: 'a=b' });
  });
});

describe('serializeCookie', () => {
  const options = resolveCookieOptions();

  it('always writes HttpOnly, the SameSite and Path attributes, and no Domain', () => {
    const cookie = parseSetCookie(serializeCookie(options, 'v1.t.k.s', true, null, T0));

    expect(cookie.name).toBe('__Host-sid');
    expect(cookie.value).toBe('v1.t.k.s');
    expect(cookie.attributes.get('httponly')).toBe(true);
    expect(cookie.attributes.get('secure')).toBe(true);
    expect(cookie.attributes.get('samesite')).toBe('Lax');
    expect(cookie.attributes.get('path')).toBe('/');
    expect(cookie.attributes.has('domain')).toBe(false);
    expect(cookie.attributes.has('max-age')).toBe(false);
    expect(cookie.attributes.has('expires')).toBe(false);
  });

  it('leaves Secure out when the caller resolved it to false', () => {
    const cookie = parseSetCookie(serializeCookie(resolveCookieOptions({ secure: 'auto' }), 'v', false, null, T0));

    expect(cookie.attributes.has('secure')).toBe(false);
  });

  it('writes Max-Age in seconds and Expires from the given clock for a persistent cookie', () => {
    const cookie = parseSetCookie(serializeCookie(options, 'v', true, 3_600_000, T0));

    expect(cookie.attributes.get('max-age')).toBe('3600');
    expect(cookie.attributes.get('expires')).toBe(new Date(T0 + 3_600_000).toUTCString());
  });

  it('writes Partitioned, Priority and Domain when configured', () => {
    const resolved = resolveCookieOptions({ name: 'sid', domain: 'example.com', partitioned: true, priority: 'high' });
    const cookie = parseSetCookie(serializeCookie(resolved, 'v', true, null, T0));

    expect(cookie.attributes.get('domain')).toBe('example.com');
    expect(cookie.attributes.get('partitioned')).toBe(true);
    expect(cookie.attributes.get('priority')).toBe('High');
  });

  it('clears the cookie with an empty value, Max-Age=0 and an Expires in 1970, on the same path', () => {
    const cookie = parseSetCookie(serializeClearCookie(options, true));

    expect(cookie.name).toBe('__Host-sid');
    expect(cookie.value).toBe('');
    expect(cookie.attributes.get('max-age')).toBe('0');
    expect(new Date(String(cookie.attributes.get('expires'))).getTime()).toBe(0);
    expect(cookie.attributes.get('path')).toBe('/');
    expect(cookie.attributes.get('secure')).toBe(true);
    expect(cookie.attributes.get('httponly')).toBe(true);
  });
});
