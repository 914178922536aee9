/**
 * The options of `createTokens`, checked once. Durations are milliseconds.
 * @module
 */
import { TesseraError } from '../core/errors.js';
import { checkNames, checkValue } from '../core/option-checks.js';
import { resolveJwtOptions, type JwtOptions, type ResolvedJwtOptions } from './jwt.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Options of `createTokens`. Durations are milliseconds. */
export interface TokenOptions {
  /** How long an access token works. Revocation is immediate anyway (checked against the store). @default 900_000 (15 min) */
  accessLifetime?: number;
  /** Absolute lifetime of a refresh family, from `issue`: the user signs in again after it. @default 2_592_000_000 (30 days) */
  refreshLifetime?: number;
  /** A family not refreshed for this long ends. @default the refresh lifetime (no idle timeout of its own) */
  refreshIdleTimeout?: number;
  /**
   * How long after a refresh the old refresh token, retried because the response was lost, still
   * gets the same new pair (once the new refresh token is used, the old one is a replay at once).
   * After it, the old token is a replay too. @default 600_000 (10 min)
   */
  retryWindow?: number;
  /**
   * `'opaque'`: access tokens are checked against the store on every use, so a revocation
   * applies at the next request. `'jwt'`: stateless signed JWTs (through the `jose` package,
   * which must then be installed) that verify without the store; a revoked family's access
   * token keeps working until it expires, at most `accessLifetime` later.
   * @default 'opaque'
   */
  accessTokens?: 'opaque' | 'jwt';
  /** Algorithm, issuer and audience of `'jwt'` access tokens. @default { algorithm: 'EdDSA' } */
  jwt?: JwtOptions;
  /** The clock (ms since epoch). @default the engine's `now` */
  now?: () => number;
}

/** Token options after defaults. */
export interface ResolvedTokenOptions {
  accessLifetime: number;
  refreshLifetime: number;
  refreshIdleTimeout: number;
  retryWindow: number;
  accessTokens: 'opaque' | 'jwt';
  /** Set for `accessTokens: 'jwt'` only. */
  jwt: ResolvedJwtOptions | undefined;
  now: () => number;
}

const NAMES = ['accessLifetime', 'refreshLifetime', 'refreshIdleTimeout', 'retryWindow', 'accessTokens', 'jwt', 'now'];

/** Apply defaults; `INVALID_OPTION` for anything that cannot be meant. */
export function resolveTokenOptions(options: TokenOptions, engineNow: () => number): ResolvedTokenOptions {
  if (typeof options !== 'object' || options === null) throw new TesseraError('INVALID_OPTION', 'createTokens: options must be an object');
  checkNames(options, NAMES, 'createTokens');
  for (const name of ['accessLifetime', 'refreshLifetime', 'refreshIdleTimeout', 'retryWindow'] as const) {
    const value = options[name];
    if (value !== undefined) checkValue(name, value, { kind: 'duration', min: 1_000, seconds: true });
  }
  if (options.now !== undefined) checkValue('now', options.now, { kind: 'function' });
  if (options.accessTokens !== undefined) checkValue('accessTokens', options.accessTokens, { kind: 'oneOf', values: ['opaque', 'jwt'] });
  const accessTokens = options.accessTokens ?? 'opaque';
  if (options.jwt !== undefined && accessTokens !== 'jwt') throw new TesseraError('INVALID_OPTION', "jwt: only used with accessTokens: 'jwt'");
  const refreshLifetime = options.refreshLifetime ?? 30 * DAY;
  const resolved: ResolvedTokenOptions = {
    accessLifetime: options.accessLifetime ?? 15 * MINUTE,
    refreshLifetime,
    refreshIdleTimeout: Math.min(options.refreshIdleTimeout ?? refreshLifetime, refreshLifetime),
    retryWindow: options.retryWindow ?? 10 * MINUTE,
    accessTokens,
    jwt: accessTokens === 'jwt' ? resolveJwtOptions(options.jwt) : undefined,
    now: options.now ?? engineNow,
  };
  if (resolved.accessLifetime >= resolved.refreshLifetime) {
    throw new TesseraError('INVALID_OPTION', 'accessLifetime must be shorter than refreshLifetime');
  }
  return resolved;
}
