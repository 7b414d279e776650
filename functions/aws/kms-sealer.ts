import { createHash } from 'node:crypto';
import {
  DecryptCommand,
  type DecryptCommandOutput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandOutput,
} from '@aws-sdk/client-kms';
import {
  type CredentialSealer,
  CredentialUnreadable,
  checkVersion,
  DATA_KEY_BYTES,
  encryptionContext,
  openContent,
  type SealedCredential,
  type SecretIdentity,
  sealContent,
} from '../app/ports/credential-sealer';

/** The two KMS calls the sealer makes (a KMSClient, or a fake in unit tests). */
export interface KmsDataKeyApi {
  send(command: GenerateDataKeyCommand): Promise<GenerateDataKeyCommandOutput>;
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
}

export interface KmsSealerOptions {
  /** How long an unwrapped data key is kept for further opens of the same secret; default 5 minutes. */
  cacheMs?: number;
  /** At most this many unwrapped data keys are kept; default 1,000 (32 bytes each). */
  maxCached?: number;
  now?: () => number;
}

/** KMS errors that say the value or the key cannot be used, as opposed to a transient failure worth a retry. */
const UNREADABLE: Record<string, { reason: 'integrity' | 'other-key' | 'key-unavailable'; what: string }> = {
  InvalidCiphertextException: {
    reason: 'integrity',
    what: 'KMS refused the wrapped data key: it was changed, or sealed for another secret',
  },
  IncorrectKeyException: { reason: 'other-key', what: 'the data key was wrapped by another KMS key' },
  DisabledException: { reason: 'key-unavailable', what: 'the KMS key is disabled' },
  KMSInvalidStateException: {
    reason: 'key-unavailable',
    what: 'the KMS key cannot be used in its current state (pending deletion or import)',
  },
  NotFoundException: { reason: 'key-unavailable', what: 'the KMS key does not exist' },
  AccessDeniedException: { reason: 'key-unavailable', what: 'this function may not use the KMS key' },
  KeyUnavailableException: { reason: 'key-unavailable', what: 'the KMS key is unavailable' },
};

/**
 * Seals with KMS data keys: GenerateDataKey (AES_256) per write, Decrypt per open, both with the secret's
 * encryption context (functions/app/ports/credential-sealer.ts). The IAM policy of each function lets it use only this
 * key, and only with this service's `purpose` in the context.
 *
 * Opening the same secret again (every import in its namespace reads it) reuses the unwrapped data key for a few
 * minutes instead of calling KMS each time. Cached keys are indexed by the wrapped key and its context, so a value
 * moved to another secret never finds one; they live in memory only and are never logged.
 */
export class KmsSealer implements CredentialSealer {
  private readonly cache = new Map<string, { key: Promise<Buffer>; expires: number }>();
  private readonly cacheMs: number;
  private readonly maxCached: number;
  private readonly now: () => number;

  constructor(
    private readonly kms: KmsDataKeyApi,
    /** The key's ARN: what GenerateDataKey is asked for, and the only `kid` this sealer opens. */
    private readonly keyArn: string,
    opts: KmsSealerOptions = {},
  ) {
    this.cacheMs = opts.cacheMs ?? 5 * 60_000;
    this.maxCached = opts.maxCached ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  async seal(plaintext: Uint8Array, owner: SecretIdentity): Promise<SealedCredential> {
    const out = await this.kms.send(
      new GenerateDataKeyCommand({
        KeyId: this.keyArn,
        KeySpec: 'AES_256',
        EncryptionContext: encryptionContext(owner),
      }),
    );
    const dataKey = out.Plaintext;
    if (!dataKey || dataKey.length !== DATA_KEY_BYTES || !out.CiphertextBlob)
      throw new Error('KMS GenerateDataKey returned no 256-bit data key');
    try {
      return { ...sealContent(dataKey, plaintext, owner), kid: this.keyArn, wk: out.CiphertextBlob };
    } finally {
      dataKey.fill(0);
    }
  }

  async open(sealed: SealedCredential, owner: SecretIdentity): Promise<Buffer> {
    checkVersion(sealed);
    if (sealed.kid !== this.keyArn)
      throw new CredentialUnreadable(
        'other-key',
        'it was sealed with another KMS key than this service uses',
      );
    return openContent(await this.dataKey(sealed, owner), sealed, owner);
  }

  private dataKey(sealed: SealedCredential, owner: SecretIdentity): Promise<Buffer> {
    const context = encryptionContext(owner);
    const id = createHash('sha256')
      .update(sealed.kid)
      .update('\0')
      .update(sealed.wk)
      .update('\0')
      .update(JSON.stringify(context))
      .digest('base64');
    const now = this.now();
    const hit = this.cache.get(id);
    if (hit && hit.expires > now) return hit.key;
    this.evict(now);
    const key = this.decrypt(sealed, context);
    this.cache.set(id, { key, expires: now + this.cacheMs });
    // A failure is not remembered: the next open asks KMS again.
    key.catch(() => this.cache.delete(id));
    return key;
  }

  private async decrypt(sealed: SealedCredential, context: Record<string, string>): Promise<Buffer> {
    let out: DecryptCommandOutput;
    try {
      out = await this.kms.send(
        new DecryptCommand({ KeyId: sealed.kid, CiphertextBlob: sealed.wk, EncryptionContext: context }),
      );
    } catch (e) {
      const known = UNREADABLE[(e as Error).name];
      if (known) throw new CredentialUnreadable(known.reason, `${known.what} (${(e as Error).name})`);
      throw e;
    }
    if (!out.Plaintext || out.Plaintext.length !== DATA_KEY_BYTES)
      throw new CredentialUnreadable('integrity', 'KMS returned no 256-bit data key');
    const key = Buffer.from(out.Plaintext);
    out.Plaintext.fill(0);
    return key;
  }

  /** Drops expired keys, then the oldest while the cache is full (Maps iterate in insertion order). */
  private evict(now: number): void {
    for (const [id, entry] of this.cache) {
      if (entry.expires <= now || this.cache.size >= this.maxCached) {
        this.cache.delete(id);
        entry.key.then(
          (k) => k.fill(0),
          () => undefined,
        );
      }
    }
  }
}
