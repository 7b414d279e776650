import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, UsageError } from '../errors';
import { parseOutput, serialize, table } from '../output';
import { paths } from '../paths';
import { type Io, runtimeFor } from '../runtime';
import { age } from './age';
import { deleteTarget, KINDS } from './objects';
import { describeFailure, Failures } from './report';
import { type DockerSecretType, dockerConfigJson, dockerConfigType, dockerSecret } from './secret-content';
import { readStdin } from './stdin';

/**
 * `isctl secrets`: registry credentials that imports use (`kubernetes.io/dockerconfigjson` secrets). The server
 * never returns a secret's content, and isctl never prints it: no password, `auth` value or config text appears
 * in any output or error, and the password can come from stdin so it never sits in shell history.
 */

/** Commander echoes an unknown `--flag=value` in its error; the value may be a password. */
export function redact(text: string): string {
  return text.replace(/('--?[^'=\s]+)=[^']*'/g, "$1=<redacted>'");
}

interface SecretItem {
  metadata: { name: string; creationTimestamp?: string };
  type?: string;
}

export function registerSecretsCommands(program: Command, io: Io): void {
  const secrets = program
    .command('secrets')
    .description(
      'Registry credentials for imports (docker config secrets): new-dockercfg, create, list, delete',
    );
  const leaf = (name: string) => {
    const c = secrets.command(name);
    c.configureOutput({
      writeOut: (s) => io.out(s.trimEnd()),
      writeErr: (s) => io.err(redact(s.trimEnd())),
    });
    return c;
  };

  leaf('new-dockercfg')
    .description(
      'Create a kubernetes.io/dockerconfigjson secret for one registry from a user name and password',
    )
    .argument('<name>', 'secret name')
    .option(
      '--docker-server <server>',
      'registry host[:port] the credentials are for',
      'https://index.docker.io/v1/',
    )
    .option('--docker-username <user>', 'user name for the registry')
    .option('--docker-password <password>', 'password or token (prefer --docker-password-stdin)')
    .option(
      '--docker-password-stdin',
      'read the password or token from stdin (keeps it out of shell history)',
    )
    .option('--docker-email <email>', 'email for the registry (optional)')
    .addHelpText(
      'after',
      `
Imports use the namespace's docker secrets automatically, matched by registry host as Docker does.

Examples:
  isctl secrets new-dockercfg quay-pull --docker-server=quay.io --docker-username=robot+ci --docker-password-stdin < token.txt
  printf %s "$TOKEN" | isctl secrets new-dockercfg ghcr --docker-server=ghcr.io --docker-username=me --docker-password-stdin`,
    )
    .action(
      async (
        name: string,
        opts: {
          dockerServer: string;
          dockerUsername?: string;
          dockerPassword?: string;
          dockerPasswordStdin?: boolean;
          dockerEmail?: string;
        },
        cmd: Command,
      ) => {
        if (!opts.dockerUsername) throw new UsageError('--docker-username is required');
        if (opts.dockerPassword !== undefined && opts.dockerPasswordStdin)
          throw new UsageError('--docker-password and --docker-password-stdin are mutually exclusive');
        let password = opts.dockerPassword;
        if (opts.dockerPasswordStdin) password = (await readStdin()).replace(/\r?\n$/, '');
        if (!password)
          throw new UsageError(
            opts.dockerPasswordStdin
              ? 'stdin held no password (--docker-password-stdin)'
              : '--docker-password or --docker-password-stdin is required',
          );
        if (!opts.dockerServer) throw new UsageError('--docker-server must not be empty');
        if (opts.dockerUsername.includes(':'))
          throw new UsageError(
            '--docker-username must not contain ":" (Docker joins user and password with it)',
          );
        const config = dockerConfigJson({
          server: opts.dockerServer,
          username: opts.dockerUsername,
          password,
          ...(opts.dockerEmail ? { email: opts.dockerEmail } : {}),
        });
        await createSecret(cmd, io, dockerSecret(name, 'kubernetes.io/dockerconfigjson', config));
      },
    );

  leaf('create')
    .description('Create a docker config secret from a file (a config.json, or a legacy .dockercfg)')
    .argument('<name>', 'secret name')
    .requiredOption(
      '--from-file <[key=]path>',
      'the Docker config file; key .dockerconfigjson or .dockercfg picks the type',
    )
    .addHelpText(
      'after',
      `
Without a key the type follows the content: {"auths": {…}} makes kubernetes.io/dockerconfigjson, a bare map of
registries kubernetes.io/dockercfg. Credentials kept by a credential helper (credsStore, credHelpers) are not in
the file; create those with isctl secrets new-dockercfg.

Example:
  isctl secrets create pull --from-file=$HOME/.docker/config.json`,
    )
    .action(async (name: string, opts: { fromFile: string }, cmd: Command) => {
      const m = /^(\.dockerconfigjson|\.dockercfg)=(.+)$/.exec(opts.fromFile);
      const path = m ? m[2]! : opts.fromFile;
      if (!m && /^[^/]*=/.test(opts.fromFile))
        throw new UsageError('--from-file takes PATH, .dockerconfigjson=PATH or .dockercfg=PATH');
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        throw new CliError(`cannot read "${path}": ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`);
      }
      const detected = dockerConfigType(text, path);
      const type: DockerSecretType = m
        ? m[1] === '.dockercfg'
          ? 'kubernetes.io/dockercfg'
          : 'kubernetes.io/dockerconfigjson'
        : detected;
      await createSecret(cmd, io, dockerSecret(name, type, text));
    });

  leaf('list')
    .description('List the secrets of the project (name, type and age; contents are never shown)')
    .option('-o, --output <format>', 'json|yaml|name')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const format = parseOutput(opts.output);
      const rt = runtimeFor(cmd, io);
      const ns = rt.project();
      const items = await rt.client().listAll<SecretItem>(paths.secrets(ns));
      if (format === 'json' || format === 'yaml')
        return io.out(serialize({ apiVersion: 'v1', kind: 'List', metadata: {}, items }, format));
      if (format === 'name') return io.out(items.map((s) => `secret/${s.metadata.name}`).join('\n'));
      if (items.length === 0) return io.err(`No resources found in ${ns} namespace.`);
      io.out(
        table(
          ['NAME', 'TYPE', 'AGE'],
          items.map((s) => [s.metadata.name, s.type ?? '', age(s.metadata.creationTimestamp)]),
        ),
      );
    });

  leaf('delete')
    .description('Delete secrets')
    .argument('<names...>', 'secret names')
    .option('--ignore-not-found', 'treat secrets that do not exist as deleted')
    .action(async (names: string[], opts: { ignoreNotFound?: boolean }, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      const ns = rt.project();
      const client = rt.client();
      const failures = new Failures(io);
      for (const name of names) {
        try {
          if (await deleteTarget(client, KINDS.Secret, ns, name, Boolean(opts.ignoreNotFound)))
            io.out(`secret "${name}" deleted`);
        } catch (e) {
          failures.add(describeFailure(e));
        }
      }
      failures.finish();
    });
}

async function createSecret(cmd: Command, io: Io, secret: Record<string, unknown>): Promise<void> {
  const rt = runtimeFor(cmd, io);
  const ns = rt.project();
  const name = (secret.metadata as { name: string }).name;
  await rt.client().post(paths.secrets(ns), secret);
  io.out(`secret/${name} created`);
}
