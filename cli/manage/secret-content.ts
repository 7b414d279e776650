import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { CliError } from '../errors';
import { isMap, type JsonMap } from './merge';

/**
 * Registry credentials on the client side. Nothing here ever puts a password, an `auth` value or a config's
 * text into a message: errors name files, registries and fields only.
 */

/** Where `apply` keeps the fingerprint of a secret's content (the server never returns the content). */
export const SECRET_FINGERPRINT = 'isctl.imagestreams.io/content-fingerprint';

/**
 * scrypt with a random salt: equal content gives a match, but the annotation cannot be turned back into the
 * content or cheaply searched for a password, even by someone who may read secrets' metadata.
 */
const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** The content a secret manifest carries (`stringData` over base64 `data`), in a canonical form with its type. */
function contentOf(secret: JsonMap): string {
  const data: Record<string, string> = {};
  if (isMap(secret.data))
    for (const [k, v] of Object.entries(secret.data))
      data[k] = typeof v === 'string' ? Buffer.from(v.replace(/[\r\n]/g, ''), 'base64').toString('utf8') : '';
  if (isMap(secret.stringData))
    for (const [k, v] of Object.entries(secret.stringData)) data[k] = typeof v === 'string' ? v : '';
  const sorted = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ type: secret.type || 'Opaque', data: sorted });
}

function hash(content: string, salt: Buffer): Buffer {
  return scryptSync(content, salt, 32, SCRYPT);
}

export function secretFingerprint(secret: JsonMap, salt = randomBytes(16)): string {
  return `scrypt:${salt.toString('base64')}:${hash(contentOf(secret), salt).toString('base64')}`;
}

/** Whether `fingerprint` (from {@link secretFingerprint}) was made from this secret's content. */
export function sameSecretContent(fingerprint: string, secret: JsonMap): boolean {
  const [scheme, salt, digest] = fingerprint.split(':');
  if (scheme !== 'scrypt' || !salt || !digest) return false;
  const want = Buffer.from(digest, 'base64');
  const got = hash(contentOf(secret), Buffer.from(salt, 'base64'));
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface DockerLogin {
  server: string;
  username: string;
  password: string;
  email?: string;
}

/** A `.dockerconfigjson` for one registry, as `oc create secret docker-registry` writes it. */
export function dockerConfigJson(login: DockerLogin): string {
  const auth = Buffer.from(`${login.username}:${login.password}`).toString('base64');
  return JSON.stringify({
    auths: {
      [login.server]: {
        username: login.username,
        password: login.password,
        ...(login.email ? { email: login.email } : {}),
        auth,
      },
    },
  });
}

/** A docker secret holding `config` (the text of a config.json / .dockercfg) under the key its type wants. */
export function dockerSecret(name: string, type: DockerSecretType, config: string): JsonMap {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    type,
    data: {
      [type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson']:
        Buffer.from(config).toString('base64'),
    },
  };
}

export type DockerSecretType = 'kubernetes.io/dockerconfigjson' | 'kubernetes.io/dockercfg';

/**
 * Which secret type a Docker config file is: `{"auths": {...}}` (config.json) or the legacy `.dockercfg` map of
 * registries. Refuses text that is not JSON, and a config whose credentials live in a helper (credsStore,
 * credHelpers): the server could not use it. Messages never quote the file.
 */
export function dockerConfigType(text: string, path: string): DockerSecretType {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not a Docker config: it is not valid JSON`);
  }
  if (!isMap(json)) throw new CliError(`${path} is not a Docker config: it must hold a JSON object`);
  if ('auths' in json) {
    const auths = json.auths;
    if (!isMap(auths) || Object.keys(auths).length === 0) {
      const helper = 'credsStore' in json || 'credHelpers' in json;
      throw new CliError(
        `${path} has no registry credentials in "auths"${helper ? ' (they are kept by a credential helper: credsStore/credHelpers)' : ''}; create the secret with isctl secrets new-dockercfg instead`,
      );
    }
    return 'kubernetes.io/dockerconfigjson';
  }
  if (Object.keys(json).length === 0) throw new CliError(`${path} is not a Docker config: it is empty`);
  return 'kubernetes.io/dockercfg';
}
