/**
 * Refresh-token families (`tessera/tokens`) live in the session store as session records, so
 * that a user's phone is listed and revoked with their browser sessions. What marks a record
 * as a family, and the deadlines that apply to it (its own, not the cookie sessions'), are
 * here, where the core's per-user controls can see them. The family record itself is written
 * by `tessera/tokens`.
 * @module
 */
import type { SessionRecord } from '../store/types.js';
import type { Timeouts } from './policy.js';

/** The data key of a record that is a refresh-token family. Apps never see family data. */
export const FAMILY_KEY = 'tessera:family';

/** What a family record keeps under {@link FAMILY_KEY}. */
export interface FamilyFacts {
  /** Format version. */
  v: 1;
  /** The family's absolute lifetime, in ms from its creation. */
  absoluteMs: number;
  /** The family's idle timeout, in ms from its last refresh. */
  idleMs: number;
  /** What the app said the client is (`'iPhone 15'`, `'CLI'`), for session lists; at most 64 characters. */
  device?: string;
}

/** The family facts of a record, or `undefined` for a cookie or header session (or anything malformed). */
export function familyOf(record: Pick<SessionRecord, 'data'>): FamilyFacts | undefined {
  const facts = (record.data as Record<string, unknown>)[FAMILY_KEY];
  if (typeof facts !== 'object' || facts === null) return undefined;
  const { v, absoluteMs, idleMs } = facts as Partial<FamilyFacts>;
  if (v !== 1 || !isDuration(absoluteMs) || !isDuration(idleMs)) return undefined;
  return facts as FamilyFacts;
}

/** Whether a record says it is a family, well-formed or not. */
export function claimsFamily(record: Pick<SessionRecord, 'data'>): boolean {
  return Object.hasOwn(record.data, FAMILY_KEY);
}

/** The timeouts that apply to a record: a family's own, else the engine's. */
export function timeoutsOf(record: Pick<SessionRecord, 'data'>, options: Timeouts): Timeouts {
  const family = familyOf(record);
  return family === undefined ? options : { idleTimeout: family.idleMs, absoluteTimeout: family.absoluteMs, maxClockSkew: options.maxClockSkew };
}

function isDuration(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
