import type { Command } from 'commander';
import type { ApiClient } from '../client';
import { CliError, UsageError } from '../errors';
import { registerCompletionCommand } from '../manage/completion';
import { type Manifest, parseSource, readSources } from '../manage/manifests';
import {
  applyTarget,
  createTarget,
  DELETE_RESOURCE_TYPES,
  deleteTarget,
  type KindInfo,
  kindForResource,
  resolveTargets,
  type Target,
} from '../manage/objects';
import { registerPolicyCommands } from '../manage/policy';
import { describeFailure, Failures } from '../manage/report';
import { registerSecretsCommands } from '../manage/secrets';
import { collect, readStdin } from '../manage/stdin';
import { type Io, runtimeFor } from '../runtime';

interface FileOpts {
  filename?: string[];
  recursive?: boolean;
}

const FILES_HELP = `
Files (-f): a file, a directory (its *.yaml, *.yml and *.json files; -R for subdirectories too) or - for stdin;
repeatable. YAML may hold several documents (---) and kind: List. Objects: ImageStream and ImageStreamTag
(image.openshift.io/v1), Secret (v1, registry credentials), RoleBinding (rbac.authorization.k8s.io/v1). Each
object goes to its metadata.namespace, else to -n or the current project. Every document is read and checked
before anything is written; then every object is processed, each failure is reported, and the exit code is 1
if any failed.`;

/** apply, create and delete (-f or by name), plus the secrets, policy and completion command groups. */
export function registerManageCommands(program: Command, io: Io): void {
  program
    .command('apply')
    .description(
      'Create objects from files, or update them to match (ImageStream, ImageStreamTag, Secret, RoleBinding)',
    )
    .option('-f, --filename <path>', 'file, directory or - (stdin); repeatable', collect)
    .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
    .addHelpText(
      'after',
      `${FILES_HELP}

apply creates what is missing and updates what differs, printing created, configured or unchanged for each
object. Like kubectl apply it remembers what it applied (annotation kubectl.kubernetes.io/last-applied-
configuration), so fields the file no longer sets are removed, while fields set by the server or by other
commands (a tag added with isctl tag, an import's annotations) are kept. Secrets cannot be updated: a changed
secret is deleted and created again.

Examples:
  isctl apply -f streams.yaml
  isctl apply -f ./manifests -n team-a
  oc get is ruby -o yaml | isctl apply -f -`,
    )
    .action(async (opts: FileOpts, cmd: Command) => {
      await eachTarget(cmd, opts, io, 'applying', async (client, t) => {
        const outcome = await applyTarget(client, t);
        io.out(`${t.info.display}/${t.name} ${outcome}`);
      });
    });

  program
    .command('create')
    .description(
      'Create objects from files (ImageStream, ImageStreamTag, Secret, RoleBinding); existing ones are errors',
    )
    .option('-f, --filename <path>', 'file, directory or - (stdin); repeatable', collect)
    .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
    .addHelpText('after', `${FILES_HELP}\n\nExample:\n  isctl create -f ruby.yaml`)
    .action(async (opts: FileOpts, cmd: Command) => {
      await eachTarget(cmd, opts, io, 'creating', async (client, t) => {
        await createTarget(client, t);
        io.out(`${t.info.display}/${t.name} created`);
      });
    });

  program
    .command('delete')
    .description('Delete objects by file (-f) or by type and name: is|istag|secret|rolebinding|project NAME…')
    .argument('[args...]', 'TYPE NAME… or TYPE/NAME…')
    .option('-f, --filename <path>', 'delete the objects these files describe; repeatable', collect)
    .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
    .option('--ignore-not-found', 'treat objects that do not exist as deleted')
    .addHelpText(
      'after',
      `
Types: ${DELETE_RESOURCE_TYPES.join(', ')}.
Deleting a project deletes everything in it (streams, secrets, role bindings) in the background.

Examples:
  isctl delete is ruby python
  isctl delete istag ruby:3.3 secret/quay-pull
  isctl delete -f streams.yaml --ignore-not-found`,
    )
    .action(async (args: string[], opts: FileOpts & { ignoreNotFound?: boolean }, cmd: Command) => {
      const ignore = Boolean(opts.ignoreNotFound);
      if (opts.filename?.length) {
        if (args.length > 0)
          throw new UsageError(
            'give either -f or resource names, not both (isctl delete -f FILE | TYPE NAME…)',
          );
        await eachTarget(cmd, opts, io, 'deleting', async (client, t) => {
          if (await deleteTarget(client, t.info, t.namespace, t.name, ignore))
            io.out(`${t.info.display} "${t.name}" deleted`);
        });
        return;
      }
      const named = namedObjects(args);
      const rt = runtimeFor(cmd, io);
      const client = rt.client();
      const failures = new Failures(io);
      for (const { info, name } of named) {
        try {
          const ns = info.namespaced ? rt.project() : '';
          if (await deleteTarget(client, info, ns, name, ignore)) io.out(`${info.display} "${name}" deleted`);
        } catch (e) {
          failures.add(describeFailure(e));
        }
      }
      failures.finish();
    });

  registerSecretsCommands(program, io);
  registerPolicyCommands(program, io);
  registerCompletionCommand(program, io);
}

/** `TYPE NAME…` or `TYPE/NAME…` (kubectl's two forms; not mixed). */
export function namedObjects(args: string[]): Array<{ info: KindInfo; name: string }> {
  if (args.length === 0)
    throw new UsageError(
      'you must provide one or more resources by argument or filename: isctl delete TYPE NAME… | -f FILE',
    );
  const lookup = (type: string) => {
    const info = kindForResource(type);
    if (!info)
      throw new UsageError(
        `unknown resource type "${type}": isctl delete takes is, istag, secret, rolebinding or project`,
      );
    return info;
  };
  if (args[0]!.includes('/')) {
    return args.map((a) => {
      const i = a.indexOf('/');
      if (i <= 0 || i === a.length - 1)
        throw new UsageError(
          `"${a}" is not TYPE/NAME; when the first argument is TYPE/NAME every argument must be`,
        );
      return { info: lookup(a.slice(0, i)), name: a.slice(i + 1) };
    });
  }
  const info = lookup(args[0]!);
  const names = args.slice(1);
  if (names.length === 0)
    throw new UsageError(
      `resource(s) were provided, but no name was specified: isctl delete ${args[0]} NAME…`,
    );
  for (const n of names)
    if (n.includes('/'))
      throw new UsageError(
        `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (${n})`,
      );
  return names.map((name) => ({ info, name }));
}

/**
 * Reads every -f source and checks every object first (a syntax error or a bad object writes nothing), then
 * runs `act` on each object in file order; failures are reported one by one and make the exit code 1.
 */
async function eachTarget(
  cmd: Command,
  opts: FileOpts,
  io: Io,
  doing: string,
  act: (client: ApiClient, t: Target) => Promise<void>,
): Promise<void> {
  const rt = runtimeFor(cmd, io);
  const sources = await readSources(opts.filename ?? [], Boolean(opts.recursive), readStdin);
  const manifests: Manifest[] = sources.flatMap(parseSource);
  const explicit = (cmd.optsWithGlobals() as { namespace?: string }).namespace;
  const targets = resolveTargets(manifests, explicit, () => rt.project());
  if (targets.length === 0) throw new CliError('no objects passed: the files hold none');
  const client = rt.client();
  const failures = new Failures(io);
  for (const t of targets) {
    try {
      await act(client, t);
    } catch (e) {
      failures.add(describeFailure(e, doing, t.source));
    }
  }
  failures.finish();
}
