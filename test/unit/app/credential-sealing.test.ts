import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  additionalData,
  CredentialUnreadable,
  type SealedCredential,
  type SecretIdentity,
} from '../../../functions/app/ports/credential-sealer';
import { KeyFileSealer } from '../../../functions/local/key-file-sealer';

/** Envelope sealing with the local key file's adapter (no I/O: the key is given as bytes). */

const OWNER: SecretIdentity = {
  namespace: 'team-a',
  name: 'pull',
  uid: '0b7c4f0e-1111-2222-3333-444455556666',
};
const CONFIG = JSON.stringify({
  auths: { 'quay.io': { username: 'robot', password: 'pa55-w0rd-never-leaks' } },
});
const plaintext = Buffer.from(CONFIG);

/** Expects `p` to reject with CredentialUnreadable for `reason`, and no content in its message. */
async function unreadable(p: Promise<unknown>, reason: CredentialUnreadable['reason']) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'it must not open').toBeInstanceOf(CredentialUnreadable);
  expect((err as CredentialUnreadable).reason).toBe(reason);
  expect((err as Error).message).not.toContain('pa55');
}

const flip = (bytes: Uint8Array, at: number) => {
  const copy = Buffer.from(bytes);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
};

describe('KeyFileSealer', () => {
  const sealer = new KeyFileSealer(randomBytes(32));

  it('opens what it sealed, and the stored form holds no trace of the content', async () => {
    const sealed = await sealer.seal(plaintext, OWNER);
    expect(sealed).toEqual({
      v: 1,
      kid: expect.stringMatching(/^file:[0-9a-f]{16}$/),
      wk: expect.any(Uint8Array),
      iv: expect.any(Uint8Array),
      ct: expect.any(Uint8Array),
    });
    expect(sealed.iv).toHaveLength(12);
    // The data key (32) wrapped as IV + ciphertext + tag; the content as ciphertext + tag.
    expect(sealed.wk).toHaveLength(12 + 32 + 16);
    expect(sealed.ct).toHaveLength(plaintext.length + 16);
    const stored = [sealed.wk, sealed.iv, sealed.ct].map((b) => Buffer.from(b));
    for (const b of stored) {
      for (const text of ['pa55-w0rd-never-leaks', 'robot', '"auths"'])
        for (const enc of ['utf8', 'latin1', 'base64'] as const) expect(b.toString(enc)).not.toContain(text);
    }
    expect((await sealer.open(sealed, OWNER)).toString()).toBe(CONFIG);
  });

  it('draws a fresh IV and data key for every write', async () => {
    const a = await sealer.seal(plaintext, OWNER);
    const b = await sealer.seal(plaintext, OWNER);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
    expect(Buffer.from(a.wk).equals(Buffer.from(b.wk))).toBe(false);
    expect(Buffer.from(a.ct).equals(Buffer.from(b.ct))).toBe(false);
    expect(a.kid).toBe(b.kid);
  });

  it('refuses a value changed anywhere: content, IV, wrapped key', async () => {
    const sealed = await sealer.seal(plaintext, OWNER);
    const variants: SealedCredential[] = [
      { ...sealed, ct: flip(sealed.ct, 0) },
      { ...sealed, ct: flip(sealed.ct, sealed.ct.length - 1) },
      { ...sealed, iv: flip(sealed.iv, 3) },
      { ...sealed, wk: flip(sealed.wk, 20) },
      { ...sealed, wk: flip(sealed.wk, 0) },
      { ...sealed, ct: Buffer.from(sealed.ct).subarray(0, 10) },
    ];
    for (const v of variants) await unreadable(sealer.open(v, OWNER), 'integrity');
  });

  it('refuses a value moved to another secret, another project, or a re-created secret of the same name', async () => {
    const sealed = await sealer.seal(plaintext, OWNER);
    for (const other of [
      { ...OWNER, name: 'other' },
      { ...OWNER, namespace: 'team-b' },
      { ...OWNER, uid: '0b7c4f0e-1111-2222-3333-444455556667' },
    ])
      await unreadable(sealer.open(sealed, other), 'integrity');
  });

  it('tells a value sealed under another key file apart, and an unknown version', async () => {
    const sealed = await new KeyFileSealer(randomBytes(32)).seal(plaintext, OWNER);
    await unreadable(sealer.open(sealed, OWNER), 'other-key');
    // Claiming this sealer's key id does not help: the wrapped key does not unwrap.
    await unreadable(sealer.open({ ...sealed, kid: sealer.kid }, OWNER), 'integrity');
    const mine = await sealer.seal(plaintext, OWNER);
    await unreadable(sealer.open({ ...mine, v: 2 }, OWNER), 'format');
  });

  it('names a key by a stable fingerprint that is not the key', () => {
    const key = randomBytes(32);
    expect(new KeyFileSealer(key).kid).toBe(new KeyFileSealer(Buffer.from(key)).kid);
    expect(new KeyFileSealer(key).kid).not.toContain(key.toString('hex').slice(0, 16));
    expect(() => new KeyFileSealer(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('binds the identity, purpose and version as additional data', () => {
    expect(additionalData(OWNER).toString()).toBe(
      JSON.stringify(['imagestreams/registry-secret', 1, 'team-a', 'pull', OWNER.uid]),
    );
    // A name containing the separator of another encoding cannot collide with a different identity.
    expect(
      additionalData({ ...OWNER, namespace: 'a', name: 'b","c' }).equals(
        additionalData({ ...OWNER, namespace: 'a","b', name: 'c' }),
      ),
    ).toBe(false);
  });
});
