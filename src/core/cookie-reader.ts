/**
 * Finding the session cookie in a `Cookie` header, defensively. Never throws.
 * @module
 */

/** What {@link readCookie} found in a `Cookie` header. */
export type CookieLookup =
  | { kind: 'absent' }
  | { kind: 'present'; value: string }
  | { kind: 'invalid'; reason: 'duplicate' | 'oversized' | 'malformed' };

/** Header sizes above this are not scanned (Node's own default limit for all headers is 16 KiB). */
export const MAX_COOKIE_HEADER_LENGTH = 16 * 1024;

/**
 * Find the cookie `name` in a `Cookie` header (or several, joined as one). A name that appears
 * more than once is refused (cookie tossing: a sibling subdomain can plant a second cookie of
 * the same name), as is an oversized header.
 *
 * Names and values are trimmed of SP and HTAB only (RFC 6265bis §5.6 "optional whitespace"),
 * never of other characters `String.prototype.trim` would remove: a cookie named
 * `"\u00A0__Host-sid"` is another cookie, not `__Host-sid`. Otherwise a sibling subdomain could
 * set that name with a `Domain` and pass it off as a `__Host-` cookie.
 */
export function readCookie(header: string | readonly string[] | undefined, name: string): CookieLookup {
  if (header === undefined) return { kind: 'absent' };
  const text = typeof header === 'string' ? header : header.join('; ');
  if (text.length > MAX_COOKIE_HEADER_LENGTH) return { kind: 'invalid', reason: 'oversized' };
  let found: string | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(';', start);
    if (end === -1) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end && trimOws(text, start, eq) === name) {
      if (found !== undefined) return { kind: 'invalid', reason: 'duplicate' };
      found = trimOws(text, eq + 1, end);
    }
    start = end + 1;
  }
  if (found === undefined) return { kind: 'absent' };
  const value = unquote(found);
  return value === undefined ? { kind: 'invalid', reason: 'malformed' } : { kind: 'present', value };
}

/** `text.slice(from, to)` without leading and trailing SP (0x20) and HTAB (0x09). */
function trimOws(text: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && isOws(text.charCodeAt(a))) a++;
  while (b > a && isOws(text.charCodeAt(b - 1))) b--;
  return text.slice(a, b);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Strip RFC 6265 quotes and percent-decoding (express-session writes `s%3A...`). */
function unquote(raw: string): string | undefined {
  let value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return value;
}
