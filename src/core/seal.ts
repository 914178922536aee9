/**
 * Encryption of session data at rest (option `encryptData`): AES-256-GCM under a key derived
 * from the signing secret, with the session's store key as additional authenticated data, so a
 * sealed value cannot be moved to another session. The sealed form names the key id, so data
 * written under an older secret still opens while that secret is in the ring.
 *
 * Sealed data is `{ "$sealed": "v1.<keyId>.<base64url(iv | ciphertext | tag)>" }`.
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SessionData } from './handle.js';
import type { KeyRing } from './keyring.js';

const FIELD = '$sealed';
const PURPOSE = 'tessera/data-encryption';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Encrypt data for the session stored under `storeKey`. */
export function sealData(keyRing: KeyRing, storeKey: string, data: SessionData): SessionData {
  const id = keyRing.signingKeyId;
  const key = keyRing.derive(id, PURPOSE)!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(storeKey));
  const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  return { [FIELD]: `v1.${id}.${sealed}` };
}

/** Whether data is in the sealed form. */
export function isSealed(data: SessionData): boolean {
  return typeof data[FIELD] === 'string' && Object.keys(data).length === 1;
}

/**
 * Decrypt data sealed by {@link sealData} for this store key. `undefined` when it cannot be
 * opened (retired key, tampering, moved to another key): the session then counts as unknown.
 */
export function openData(keyRing: KeyRing, storeKey: string, data: SessionData): SessionData | undefined {
  const [version, id, payload] = String(data[FIELD]).split('.');
  if (version !== 'v1' || id === undefined || payload === undefined) return undefined;
  const key = keyRing.derive(id, PURPOSE);
  const bytes = Buffer.from(payload, 'base64url');
  if (key === undefined || bytes.length < IV_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(storeKey));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    const value: unknown = JSON.parse(text.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as SessionData) : undefined;
  } catch {
    return undefined;
  }
}
