import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  additionalData,
  type CredentialSealer,
  CredentialUnreadable,
  checkVersion,
  DATA_KEY_BYTES,
  gcmDecrypt,
  gcmEncrypt,
  openContent,
  type SealedCredential,
  type SecretIdentity,
  sealContent,
} from '../app/ports/credential-sealer';

export const KEY_FILE_BYTES = 32;

/**
 * The local key: 32 random bytes in a file only its owner may read (default `$DATA_DIR/secret-key`). Created on
 * first start, then kept: losing it makes every stored registry secret unreadable. A file of the wrong size, or
 * one other users can read or write, stops the start with a message naming it (and `setting`, the variable that
 * chose the path): the service never runs with a key others may have copied.
 */
export async function loadOrCreateKeyFile(
  path: string,
  setting = 'SECRETS_KEY_FILE',
  opts: { create?: boolean } = {},
): Promise<Buffer> {
  const where = `${setting} (${path})`;
  let info = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new Error(`${where}: cannot read the key file: ${e.message}`);
  });
  if (!info) {
    if (opts.create === false) throw new Error(`${where}: no such key file`);
    await create(path);
    info = await stat(path);
  }
  if (!info.isFile()) throw new Error(`${where}: not a regular file`);
  if ((info.mode & 0o077) !== 0)
    throw new Error(
      `${where}: other users may read or write the key file (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); ` +
        `run chmod 600 on it, and replace the key if anyone else may have copied it`,
    );
  if (info.size !== KEY_FILE_BYTES)
    throw new Error(
      `${where}: the key file must hold exactly ${KEY_FILE_BYTES} bytes, it holds ${info.size}; ` +
        'restore the original file (secrets sealed with it cannot be opened without it)',
    );
  const handle = await open(path, 'r');
  try {
    const key = Buffer.alloc(KEY_FILE_BYTES);
    const { bytesRead } = await handle.read(key, 0, KEY_FILE_BYTES, 0);
    if (bytesRead !== KEY_FILE_BYTES) throw new Error(`${where}: short read of the key file`);
    return key;
  } finally {
    await handle.close();
  }
}

/**
 * Writes a new key next to `path` and links it into place: the link fails if another process got there first
 * (then its key is used), and nobody ever sees a partly written key file.
 */
async function create(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(randomBytes(KEY_FILE_BYTES));
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Seals with the local key file: each write draws a fresh data key, wrapped with AES-256-GCM under the file's key
 * with the secret's identity as additional data (so the file's key encrypts only 32-byte data keys, never content,
 * and a wrapped key copied onto another secret fails to unwrap). `kid` names the key by a fingerprint, so a value
 * sealed under another key file is told apart from a damaged one.
 */
export class KeyFileSealer implements CredentialSealer {
  readonly kid: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_FILE_BYTES) throw new Error(`the key must be ${KEY_FILE_BYTES} bytes`);
    this.kid = `file:${createHash('sha256').update('imagestreams key id\0').update(key).digest('hex').slice(0, 16)}`;
  }

  async seal(plaintext: Uint8Array, owner: SecretIdentity): Promise<SealedCredential> {
    const dataKey = randomBytes(DATA_KEY_BYTES);
    try {
      const wrapped = gcmEncrypt(this.key, dataKey, additionalData(owner));
      return {
        ...sealContent(dataKey, plaintext, owner),
        kid: this.kid,
        wk: Buffer.concat([wrapped.iv, wrapped.ct]),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  async open(sealed: SealedCredential, owner: SecretIdentity): Promise<Buffer> {
    checkVersion(sealed);
    if (sealed.kid !== this.kid)
      throw new CredentialUnreadable(
        'other-key',
        'it was sealed with another key file than this service uses',
      );
    const wk = Buffer.from(sealed.wk);
    const dataKey = gcmDecrypt(
      this.key,
      wk.subarray(0, 12),
      wk.subarray(12),
      additionalData(owner, sealed.v),
    );
    try {
      return openContent(dataKey, sealed, owner);
    } finally {
      dataKey.fill(0);
    }
  }
}
