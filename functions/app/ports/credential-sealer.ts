import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Registry credentials are encrypted by the application before they reach the table (envelope encryption): each
 * write draws a fresh 256-bit data key, encrypts the content with AES-256-GCM under a fresh IV, and stores the data
 * key only wrapped by a key the table never holds (a KMS key in AWS, the key file locally). A Scan of the table,
 * a backup or an export therefore shows no credential.
 *
 * The secret's identity (namespace, name, uid) is bound into both layers: it is the GCM additional data of the
 * content, and the KMS encryption context (or the key file's additional data) of the data key. A sealed value
 * copied onto another secret, into another project, or onto a re-created secret of the same name fails to open.
 */

/** The secret a sealed value belongs to. */
export interface SecretIdentity {
  namespace: string;
  name: string;
  uid: string;
}

/** The only format so far: AES-256-GCM content (12-byte IV, 16-byte tag) under a per-write 256-bit data key. */
export const SEALING_VERSION = 1;

/** What the table stores in place of the credentials. Nothing in it reveals them without the wrapping key. */
export interface SealedCredential {
  /** Algorithm version ({@link SEALING_VERSION}). */
  v: number;
  /** The key that wrapped the data key: a KMS key ARN, or `file:<fingerprint>` for a local key file. */
  kid: string;
  /** The data key, wrapped by `kid` (a KMS ciphertext blob, or IV + ciphertext + tag under the key file). */
  wk: Uint8Array;
  /** The content's IV. */
  iv: Uint8Array;
  /** The content's ciphertext followed by its 16-byte GCM tag. */
  ct: Uint8Array;
}

/** The port: seal credential material for one secret, or open what was sealed for it. */
export interface CredentialSealer {
  seal(plaintext: Uint8Array, owner: SecretIdentity): Promise<SealedCredential>;
  /** Throws {@link CredentialUnreadable} when the value cannot be opened for `owner` with this sealer's key. */
  open(sealed: SealedCredential, owner: SecretIdentity): Promise<Buffer>;
}

/**
 * Why a sealed value cannot be opened: `integrity` (changed, or sealed for another secret), `other-key` (sealed
 * under a key this service does not use), `key-unavailable` (the key exists but cannot be used now: disabled,
 * access denied), `format` (a version this code does not know).
 */
export type UnreadableReason = 'integrity' | 'other-key' | 'key-unavailable' | 'format';

/** A sealed value that cannot be opened. Messages name the reason, never content or key material. */
export class CredentialUnreadable extends Error {
  constructor(
    readonly reason: UnreadableReason,
    message: string,
  ) {
    super(message);
    this.name = 'CredentialUnreadable';
  }
}

/** Names what a sealed value is for, so no other use of the same key can produce or open it. */
export const SEALING_PURPOSE = 'imagestreams/registry-secret';

/** The AES-GCM additional data of a secret's content (and, locally, of its wrapped data key). */
export function additionalData(owner: SecretIdentity, version = SEALING_VERSION): Buffer {
  return Buffer.from(JSON.stringify([SEALING_PURPOSE, version, owner.namespace, owner.name, owner.uid]));
}

/** The KMS encryption context of a secret's data key: authenticated by KMS, and logged by CloudTrail. */
export function encryptionContext(owner: SecretIdentity): Record<string, string> {
  return { purpose: SEALING_PURPOSE, namespace: owner.namespace, secret: owner.name, uid: owner.uid };
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
export const DATA_KEY_BYTES = 32;

/** AES-256-GCM under `key` with a fresh IV; returns the IV and ciphertext + tag. */
export function gcmEncrypt(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { iv: Buffer; ct: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, ct };
}

/** Opens {@link gcmEncrypt}'s output; a changed byte, another key or other additional data is `integrity`. */
export function gcmDecrypt(key: Uint8Array, iv: Uint8Array, ct: Uint8Array, aad: Uint8Array): Buffer {
  if (iv.length !== IV_BYTES || ct.length < TAG_BYTES)
    throw new CredentialUnreadable('integrity', 'the sealed value is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CredentialUnreadable(
      'integrity',
      'the sealed value failed its integrity check: it was changed, or sealed for another secret',
    );
  }
}

/** Seals `plaintext` for `owner` under an already unwrapped data key (the adapters supply and wrap the key). */
export function sealContent(
  dataKey: Uint8Array,
  plaintext: Uint8Array,
  owner: SecretIdentity,
): Pick<SealedCredential, 'v' | 'iv' | 'ct'> {
  const { iv, ct } = gcmEncrypt(dataKey, plaintext, additionalData(owner));
  return { v: SEALING_VERSION, iv, ct };
}

/** Opens the content of `sealed` with its unwrapped data key. */
export function openContent(dataKey: Uint8Array, sealed: SealedCredential, owner: SecretIdentity): Buffer {
  return gcmDecrypt(dataKey, sealed.iv, sealed.ct, additionalData(owner, sealed.v));
}

/** Refuses a version this code cannot open before any key is asked for. */
export function checkVersion(sealed: SealedCredential): void {
  if (sealed.v !== SEALING_VERSION)
    throw new CredentialUnreadable(
      'format',
      `the sealed value has version ${sealed.v}, which this service cannot open`,
    );
}

/** A sealer for processes that never handle secret content (no key is configured for them). */
export const noSealer: CredentialSealer = {
  seal: () =>
    Promise.reject(
      new Error('registry secrets cannot be sealed here: no key is configured (SECRETS_KMS_KEY_ARN)'),
    ),
  open: () =>
    Promise.reject(
      new Error('registry secrets cannot be opened here: no key is configured (SECRETS_KMS_KEY_ARN)'),
    ),
};
