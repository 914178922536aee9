/**
 * Token rotation, acknowledged. The protocol (the README's "Token rotation" tells it in plain
 * words; docs/rotation.md compares it with SuperTokens'):
 *
 * 1. A session's token is due after `rotateEvery`. The request that finds it due *starts* a
 *    rotation: it records the hash of a new token as `pending` and hands the token out. The new
 *    token is derived from the current one with a keyed function ({@link KeyRing.rotationToken}),
 *    so it is never stored, and every request that shows the current token (a retry after a
 *    lost response, a parallel request, another host) gets the same new token again: one
 *    pending token per session, and no write per request.
 * 2. The current token keeps working while the rotation is pending. A response that never
 *    reaches the client (aborted, streamed before the save, lost on a mobile link) costs nothing.
 * 3. The first request that shows the new token *completes* the rotation: the new token becomes
 *    current, and the old one is `previous` with the time it was retired.
 * 4. The previous token works `rotationGrace` (+ `maxClockSkew`) longer, for requests that were
 *    in flight. Shown after that, or any older token at all, it is a replay: two parties hold
 *    the session. Any older token is recognised with no extra store read, because the cookie's
 *    signature proves tessera issued that (id, token) pair for this session once.
 *
 * Both steps happen while the session loads, before the app runs, so a response whose headers
 * leave early (static files, streams, compression) still carries the new token.
 * @module
 */
import type { SessionRecord, TokenState } from '../store/types.js';
import type { SessionContext } from './context.js';
import type { RequestInfo } from './request.js';
import { tokenHashOf, type Identity } from './token.js';

/** How the token a request shows relates to its session's tokens. */
export type TokenMatch =
  /** The current token. */
  | { kind: 'current' }
  /** The pending token of a rotation: the client has it, the rotation can complete. */
  | { kind: 'pending' }
  /** The token before the current one, within its grace window. */
  | { kind: 'grace' }
  /** Any other token tessera issued for this session: a replay. */
  | { kind: 'replay' };

/** The token state of a record; a tessera 0.1 record's one token is hashed into its key. */
export function tokensOf(record: SessionRecord, key: string): TokenState {
  return record.tokens ?? { current: key, issuedAt: record.createdAt };
}

/** Which of the session's tokens a request shows. */
export function matchToken(ctx: SessionContext, record: SessionRecord, key: string, token: string, now: number): TokenMatch {
  const hash = tokenHashOf(token);
  const tokens = tokensOf(record, key);
  if (hash === tokens.current) return { kind: 'current' };
  if (tokens.pending !== undefined && hash === tokens.pending.hash) return { kind: 'pending' };
  const { rotationGrace, maxClockSkew } = ctx.options;
  if (tokens.previous !== undefined && hash === tokens.previous.hash && now < tokens.previous.retiredAt + rotationGrace + maxClockSkew) {
    return { kind: 'grace' };
  }
  return { kind: 'replay' };
}

/** What a loaded session hands out after the rotation step. */
export interface RotationOutcome {
  /** The record as stored now (a new version if the step wrote one). */
  record: SessionRecord;
  /** The identity the client holds after this response; `null`: send no cookie at all. */
  identity: Identity | null;
  /** Whether this response must set the cookie (a new token to hand out). */
  handOut: boolean;
}

/**
 * Start or complete a rotation as the match requires, writing to the store with
 * compare-and-set. @returns the outcome, or `'conflict'` when another request wrote the record
 * first (read it again and retry).
 */
export async function rotationStep(
  ctx: SessionContext,
  request: RequestInfo,
  key: string,
  record: SessionRecord,
  identity: Identity,
  match: Exclude<TokenMatch, { kind: 'replay' }>,
  now: number,
): Promise<RotationOutcome | 'conflict'> {
  const tokens = tokensOf(record, key);
  switch (match.kind) {
    case 'grace':
      // A request that was in flight: the client already holds the new token, which this
      // response cannot re-derive and must not replace.
      return { record, identity: null, handOut: false };
    case 'pending': {
      const committed: TokenState = {
        current: tokens.pending!.hash,
        issuedAt: now,
        previous: { hash: tokens.current, retiredAt: now },
      };
      const next = { ...record, version: record.version + 1, tokens: committed };
      if (!(await ctx.gateway.write(key, next, record.version, request))) return 'conflict';
      ctx.emit('rotated', request, ctx.reference(key), record.userId);
      return { record: next, identity, handOut: false };
    }
    case 'current': {
      const pending = tokens.pending;
      if (pending !== undefined) {
        const token = ctx.keyRing.rotationToken(pending.keyId, identity);
        if (token !== undefined && tokenHashOf(token) === pending.hash) {
          return { record, identity: { sid: identity.sid, token }, handOut: true };
        }
        // Derived under a key that has left the ring: start again under the signing key.
      } else if (now - tokens.issuedAt < ctx.options.rotateEvery) {
        return { record, identity, handOut: false };
      }
      const keyId = ctx.keyRing.signingKeyId;
      const token = ctx.keyRing.rotationToken(keyId, identity)!;
      const started: TokenState = { ...tokens, pending: { hash: tokenHashOf(token), keyId, startedAt: now } };
      const next = { ...record, version: record.version + 1, tokens: started };
      if (!(await ctx.gateway.write(key, next, record.version, request))) return 'conflict';
      return { record: next, identity: { sid: identity.sid, token }, handOut: true };
    }
  }
}
