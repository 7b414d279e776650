import { CliError } from '../errors';
import { isMap, type JsonMap } from './merge';

/**
 * Registry credentials on the client side. Nothing here ever puts a password, an `auth` value or a config's
 * text into a message: errors name files, registries and fields only.
 */

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
