import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  type DecryptCommand,
  type DecryptCommandOutput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandOutput,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { CredentialUnreadable, type SecretIdentity } from '../../../functions/app/ports/credential-sealer';
import { type KmsDataKeyApi, KmsSealer } from '../../../functions/aws/kms-sealer';

/**
 * The KMS adapter against a recording fake of the two KMS calls (there is no KMS to run locally). The fake keeps
 * KMS's contract where the adapter relies on it: a data key is returned in clear and wrapped, the wrapped key
 * opens only with the same key id and the same encryption context (InvalidCiphertextException otherwise), and
 * key-state problems are errors with KMS's names.
 */

const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const OWNER: SecretIdentity = {
  namespace: 'team-a',
  name: 'pull',
  uid: '6f1c2b7e-0000-4000-8000-000000000001',
};
const CONFIG = Buffer.from(JSON.stringify({ auths: { 'quay.io': { auth: 'cm9ib3Q6cGE1NS13MHJk' } } }));

type Call =
  | { op: 'GenerateDataKey'; KeyId?: string; KeySpec?: string; EncryptionContext?: Record<string, string> }
  | { op: 'Decrypt'; KeyId?: string; EncryptionContext?: Record<string, string> };

class FakeKms implements KmsDataKeyApi {
  readonly calls: Call[] = [];
  readonly handedOut: Uint8Array[] = [];
  /** When set, the next calls fail with an error of this name (as the SDK's service exceptions are named). */
  failWith: string | undefined;
  private readonly master = randomBytes(32);

  send(command: GenerateDataKeyCommand): Promise<GenerateDataKeyCommandOutput>;
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
  async send(command: GenerateDataKeyCommand | DecryptCommand): Promise<unknown> {
    const input = command.input;
    if (command instanceof GenerateDataKeyCommand) {
      const i = command.input;
      this.calls.push({
        op: 'GenerateDataKey',
        KeyId: i.KeyId,
        KeySpec: i.KeySpec,
        EncryptionContext: i.EncryptionContext,
      });
    } else {
      const i = command.input;
      this.calls.push({ op: 'Decrypt', KeyId: i.KeyId, EncryptionContext: i.EncryptionContext });
    }
    if (this.failWith) throw Object.assign(new Error(`fake ${this.failWith}`), { name: this.failWith });
    const aad = Buffer.from(
      JSON.stringify([input.KeyId, Object.entries(input.EncryptionContext ?? {}).sort()]),
    );
    if (command instanceof GenerateDataKeyCommand) {
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', this.master, iv).setAAD(aad);
      const blob = Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
      const handed = new Uint8Array(plaintext);
      this.handedOut.push(handed);
      return { KeyId: input.KeyId, Plaintext: handed, CiphertextBlob: new Uint8Array(blob) };
    }
    const blob = Buffer.from(command.input.CiphertextBlob!);
    try {
      const d = createDecipheriv('aes-256-gcm', this.master, blob.subarray(0, 12)).setAAD(aad);
      d.setAuthTag(blob.subarray(44));
      const plaintext = Buffer.concat([d.update(blob.subarray(12, 44)), d.final()]);
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext) };
    } catch {
      throw Object.assign(new Error('fake InvalidCiphertextException'), {
        name: 'InvalidCiphertextException',
      });
    }
  }

  count(op: Call['op']) {
    return this.calls.filter((c) => c.op === op).length;
  }
}

function setup(opts: { cacheMs?: number; maxCached?: number } = {}) {
  const kms = new FakeKms();
  let now = 1_000_000;
  const sealer = new KmsSealer(kms, KEY_ARN, { ...opts, now: () => now });
  return { kms, sealer, advance: (ms: number) => (now += ms) };
}

const CONTEXT = {
  purpose: 'imagestreams/registry-secret',
  namespace: 'team-a',
  secret: 'pull',
  uid: OWNER.uid,
};

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CredentialUnreadable);
  return (err as CredentialUnreadable).reason;
}

describe('KmsSealer', () => {
  it('seals with one GenerateDataKey (AES_256, the key ARN, the secret as encryption context) and forgets the key', async () => {
    const { kms, sealer } = setup();
    const sealed = await sealer.seal(CONFIG, OWNER);
    expect(kms.calls).toEqual([
      { op: 'GenerateDataKey', KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: CONTEXT },
    ]);
    expect(sealed.kid).toBe(KEY_ARN);
    expect(sealed.v).toBe(1);
    expect(Buffer.from(sealed.ct).toString('latin1')).not.toContain('cm9ib3Q6');
    // The plaintext data key KMS handed out is zeroed once used.
    expect([...kms.handedOut[0]!].every((b) => b === 0)).toBe(true);
  });

  it('opens with Decrypt (same key, same context) and reuses the data key for a while', async () => {
    const { kms, sealer, advance } = setup({ cacheMs: 60_000 });
    const sealed = await sealer.seal(CONFIG, OWNER);
    expect((await sealer.open(sealed, OWNER)).equals(CONFIG)).toBe(true);
    expect(kms.calls.at(-1)).toEqual({ op: 'Decrypt', KeyId: KEY_ARN, EncryptionContext: CONTEXT });
    await Promise.all([sealer.open(sealed, OWNER), sealer.open(sealed, OWNER)]);
    expect(kms.count('Decrypt')).toBe(1);
    advance(60_001);
    expect((await sealer.open(sealed, OWNER)).equals(CONFIG)).toBe(true);
    expect(kms.count('Decrypt')).toBe(2);
  });

  it('keeps at most maxCached data keys', async () => {
    const { kms, sealer } = setup({ maxCached: 2 });
    const owners = ['a', 'b', 'c'].map((name) => ({ ...OWNER, name }));
    const sealed = await Promise.all(owners.map((o) => sealer.seal(CONFIG, o)));
    for (let i = 0; i < 3; i++) await sealer.open(sealed[i]!, owners[i]!);
    expect(kms.count('Decrypt')).toBe(3);
    await sealer.open(sealed[2]!, owners[2]!);
    expect(kms.count('Decrypt')).toBe(3);
    await sealer.open(sealed[0]!, owners[0]!);
    expect(kms.count('Decrypt')).toBe(4);
  });

  it('refuses a value moved to another secret (KMS refuses the context), even with its data key cached', async () => {
    const { kms, sealer } = setup();
    const sealed = await sealer.seal(CONFIG, OWNER);
    await sealer.open(sealed, OWNER);
    const moved = { ...OWNER, name: 'other' };
    expect(await reason(sealer.open(sealed, moved))).toBe('integrity');
    expect(kms.calls.at(-1)).toEqual({
      op: 'Decrypt',
      KeyId: KEY_ARN,
      EncryptionContext: { ...CONTEXT, secret: 'other' },
    });
    // A refusal is not cached: the next attempt asks KMS again.
    expect(await reason(sealer.open(sealed, moved))).toBe('integrity');
    expect(kms.count('Decrypt')).toBe(3);
  });

  it('refuses changed content although KMS unwraps the data key', async () => {
    const { sealer } = setup();
    const sealed = await sealer.seal(CONFIG, OWNER);
    const ct = Buffer.from(sealed.ct);
    ct[5] = ct[5]! ^ 0xff;
    expect(await reason(sealer.open({ ...sealed, ct }, OWNER))).toBe('integrity');
  });

  it('opens only values of its own key, without asking KMS for others', async () => {
    const { kms, sealer } = setup();
    const sealed = await sealer.seal(CONFIG, OWNER);
    const other = KEY_ARN.replace('1234abcd', 'ffffffff');
    expect(await reason(sealer.open({ ...sealed, kid: other }, OWNER))).toBe('other-key');
    expect(await reason(sealer.open({ ...sealed, v: 9 }, OWNER))).toBe('format');
    expect(kms.count('Decrypt')).toBe(0);
  });

  it('maps key-state errors to key-unavailable and lets transient errors through', async () => {
    const { kms, sealer } = setup();
    const sealed = await sealer.seal(CONFIG, OWNER);
    for (const name of ['DisabledException', 'KMSInvalidStateException', 'AccessDeniedException']) {
      kms.failWith = name;
      const err = await sealer.open(sealed, OWNER).catch((e: unknown) => e as CredentialUnreadable);
      expect(err).toBeInstanceOf(CredentialUnreadable);
      expect((err as CredentialUnreadable).reason).toBe('key-unavailable');
      expect((err as Error).message).toContain(name);
    }
    kms.failWith = 'ThrottlingException';
    await expect(sealer.open(sealed, OWNER)).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(sealer.seal(CONFIG, OWNER)).rejects.toMatchObject({ name: 'ThrottlingException' });
    kms.failWith = undefined;
    expect((await sealer.open(sealed, OWNER)).equals(CONFIG)).toBe(true);
  });
});
