import { type Status, StatusError } from '../../core/errors';
import type { DockerConfig } from '../../registry/credentials';
import { type CredentialSealer, CredentialUnreadable } from '../ports/credential-sealer';
import type { SecretCredentials, SecretRepository } from '../ports/secrets';

/**
 * Registry secrets as imports use them: opened from their sealed form, and the migration of secrets older
 * versions stored in clear. (functions/app/access/secrets.ts is the API side, which seals.)
 */

/** Messages read `secrets "x" …`, as Kubernetes names core resources. */
const SECRETS = 'secrets';

/**
 * A secret an import would use whose credentials cannot be opened (changed in the table, copied from another
 * secret, sealed under another key, key unavailable). The import fails with this status on every image that
 * needed the namespace's secrets, rather than going on without them: it names the secret and what to do, and
 * quotes nothing of its content.
 */
export class SecretUnusable extends Error {
  constructor(
    readonly secret: string,
    readonly why: CredentialUnreadable,
  ) {
    super(`secrets "${secret}" cannot be used: ${why.message}`);
    this.name = 'SecretUnusable';
  }

  toStatus(): Status {
    const fix =
      this.why.reason === 'key-unavailable'
        ? 'the service cannot use its key for registry secrets now; an administrator must restore access to it'
        : 'replace its content (PUT, isctl apply) or delete it';
    const [code, reason] =
      this.why.reason === 'key-unavailable'
        ? [503, 'ServiceUnavailable' as const]
        : [422, 'Invalid' as const];
    return new StatusError(code, reason, `${this.message}; ${fix}`, {
      name: this.secret,
      kind: SECRETS,
    }).toStatus();
  }
}

/**
 * The Docker configs imports in `ns` may use, in secret-name order (see SecretRepository.credentials), opened. Throws
 * {@link SecretUnusable} for the first secret that cannot be opened.
 */
export async function importCredentials(
  ctx: { secrets: SecretRepository; sealer: CredentialSealer },
  ns: string,
): Promise<DockerConfig[]> {
  const records = await ctx.secrets.credentials(ns);
  return Promise.all(records.map((r) => openCredentials(ctx.sealer, r)));
}

async function openCredentials(sealer: CredentialSealer, r: SecretCredentials): Promise<DockerConfig> {
  if (!r.sealed) return JSON.parse(r.legacyConfig ?? '{}') as DockerConfig;
  try {
    return JSON.parse((await sealer.open(r.sealed, r)).toString('utf8')) as DockerConfig;
  } catch (e) {
    if (e instanceof CredentialUnreadable) throw new SecretUnusable(r.name, e);
    throw e;
  }
}

/**
 * Seals every secret whose config is still in clear (written before sealing existed); returns how many. Each is
 * rewritten only if unchanged since it was read, keeping its resourceVersion. Local mode runs it at every start;
 * in AWS, scripts/seal-secrets.ts.
 */
export async function sealUnsealedSecrets(ctx: {
  secrets: SecretRepository;
  sealer: CredentialSealer;
}): Promise<number> {
  let sealed = 0;
  for await (const page of ctx.secrets.unsealedRecords()) {
    for (const r of page) {
      const box = await ctx.sealer.seal(Buffer.from(r.legacyConfig), r);
      if (await ctx.secrets.sealInPlace(r, box)) sealed++;
    }
  }
  return sealed;
}
