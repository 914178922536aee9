/**
 * Encryption at rest (option `encryptData`): the session data is sealed with AES-256-GCM, and
 * the record's other fields are bound to it as additional authenticated data, so that someone
 * who can write to the store can neither read the data nor change what the engine trusts:
 *
 * - sealed: the data;
 * - authenticated (readable, but any change makes the seal fail): the store key (a sealed value
 *   cannot be moved to another session), `version`, `userId`, `createdAt` (so the absolute
 *   timeout), `authenticatedAt`, the per-session timeout and cookie lifetime, the token hashes
 *   and the device metadata;
 * - neither: `lastSeenAt` and `expiresAt`, which a touch updates without rewriting the record.
 *   Someone with write access to the store can therefore keep a session from idling out, never
 *   past its absolute deadline, and can always delete sessions.
 *
 * Each session has its own key, derived (HKDF-SHA256) from the signing secret's key for this
 * purpose and the session's store key, and each write a random 96-bit nonce: no key comes near
 * the 2^32 encryptions NIST SP 800-38D allows with random nonces. The sealed form names the key
 * id, so records written under an older secret open while that secret is in the ring.
 *
 * Sealed data is `{ "$sealed": "v2.<keyId>.<base64url(iv | ciphertext | tag)>" }`. A record
 * that is not sealed, or whose seal does not verify, is not a session (see the gateway).
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SessionRecord } from '../store/types.js';
import type { SessionData } from './handle.js';
import type { KeyRing } from './keyring.js';

const FIELD = '$sealed';
const VERSION = 'v2';
const PURPOSE = 'tessera/record-seal';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a record could not be opened. */
export type SealFailure = 'unsealed' | 'bad_seal';

/** The record with its data sealed for the session stored under `storeKey`. */
export function sealRecord(keyRing: KeyRing, storeKey: string, record: SessionRecord): SessionRecord {
  const id = keyRing.signingKeyId;
  const key = sessionKey(keyRing, id, storeKey)!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(authenticatedFields(storeKey, record));
  const body = Buffer.concat([cipher.update(JSON.stringify(record.data), 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  return { ...record, data: { [FIELD]: `${VERSION}.${id}.${sealed}` } };
}

/**
 * The record with its data opened, or why it cannot be trusted: `unsealed` (plain data where
 * sealed data belongs), `bad_seal` (an edited field, data moved from another session, a retired
 * key, an older seal format, or damage).
 */
export function openRecord(keyRing: KeyRing, storeKey: string, record: SessionRecord): SessionRecord | SealFailure {
  const data = record.data;
  if (typeof data[FIELD] !== 'string' || Object.keys(data).length !== 1) return 'unsealed';
  const [version, id, payload, extra] = (data[FIELD] as string).split('.');
  if (version !== VERSION || id === undefined || payload === undefined || extra !== undefined) return 'bad_seal';
  const key = sessionKey(keyRing, id, storeKey);
  const bytes = Buffer.from(payload, 'base64url');
  if (key === undefined || bytes.length < IV_BYTES + TAG_BYTES) return 'bad_seal';
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(authenticatedFields(storeKey, record));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    const value: unknown = JSON.parse(text.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'bad_seal';
    return { ...record, data: value as SessionData };
  } catch {
    return 'bad_seal';
  }
}

/** The key of one session: HKDF over the ring's key for this purpose, salted with the store key. */
function sessionKey(keyRing: KeyRing, keyId: string, storeKey: string): Buffer | undefined {
  const master = keyRing.derive(keyId, PURPOSE);
  return master === undefined ? undefined : Buffer.from(hkdfSync('sha256', master, storeKey, 'tessera/session-key', 32));
}

/** The fields bound to the seal, in a canonical encoding (sorted keys, so stores may reorder). */
function authenticatedFields(storeKey: string, record: SessionRecord): Buffer {
  return Buffer.from(
    canonical([
      storeKey,
      record.version,
      record.userId,
      record.createdAt,
      record.authenticatedAt,
      record.idleTimeoutMs ?? null,
      record.cookieMaxAgeMs ?? null,
      record.tokens ?? null,
      record.meta,
    ]),
    'utf8',
  );
}

/** JSON with object keys sorted at every level. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
