import type { Command } from 'commander';
import type {
  ImageStream,
  ImageStreamTag,
  ImageStreamTagHistory,
  TagEvent,
  TagReference,
} from '../../functions/core/api-types';
import type { ApiClient } from '../client';
import { CliError, ServerError, UsageError } from '../errors';
import { paths } from '../paths';
import {
  buildTagReference,
  checkImportFlags,
  chooseRollback,
  type Destination,
  distinctImages,
  inferSource,
  parseDestination,
  parseSourceKind,
  parseSteps,
  type Source,
  snapshotSource,
  type TagFlags,
  tagMessage,
  validateTagFlags,
} from '../references';
import { type Io, runtimeFor } from '../runtime';
import { PLAIN_HTTP_HINT } from './import-image';

interface TagOpts {
  source?: string;
  delete?: boolean;
  alias?: boolean;
  reference?: boolean;
  scheduled?: boolean;
  insecure?: boolean;
  referencePolicy?: string;
  importMode?: string;
}

const TAG_HELP = `
SOURCE is one of
  a container image in a registry   quay.io/org/app:1.2, 127.0.0.1:5000/app@sha256:… (a registry host)
  an image stream image             app@sha256:…, otherproject/app@sha256:…
  an image stream tag               app:1.2, otherproject/app:1.2
Without --source the kind is inferred in that order: a registry host means a container image; an @digest an
image stream image; a :tag an image stream tag; anything else a container image (Docker Hub).

An image stream tag source is a snapshot: the destination gets the image the source tag points to now
(ImageStreamImage <stream>@<digest>) and does not follow later changes. With --alias the destination tracks the
source tag instead (same image stream only).

DEST is [<project>/]<stream>:<tag>; several may be given. The destination tag is created or replaced.

Examples:
  isctl tag app:1.2 app:prod                         # prod = the image 1.2 points to now
  isctl tag --alias app:1.2 app:stable               # stable follows 1.2
  isctl tag quay.io/org/app:1.2 app:1.2 --scheduled  # import from the registry, and re-check periodically
  isctl tag otherproject/app:1.2 app:1.2             # from another project (needs pull rights there)
  isctl tag -d app:old app:older                     # delete tags (spec and history)
`;

const ROLLBACK_HELP = `
A shortcut for 'isctl tag <stream>@<digest> <stream>:<tag>'. The server puts that image on top of the tag's
history again (the newer entries stay below it), so the tag's pull spec changes and whatever follows the tag
(triggers, aliases) moves with it.

  (no flag)     the previous distinct image (--steps 1)
  --steps N     N distinct images back in the tag's history (images equal to the current one do not count)
  --to DIGEST   the image with this digest, or a unique prefix of it, from the tag's history

The tag's annotations and reference policy are kept. Its source becomes that image (ImageStreamImage), as in
OpenShift, so a tag imported from a registry stops importing after a rollback, even a scheduled one
(--scheduled), and 'isctl import-image' refuses it. Point it at the registry again when you are ready to move
forward: isctl tag [--scheduled] <pull spec> <stream>:<tag>
`;

/** tag and rollback: pointing tags at images. */
export function registerTagCommands(program: Command, io: Io): void {
  program
    .command('tag')
    .description('Tag existing images into image streams (as oc tag does)')
    .addHelpText('after', TAG_HELP.trimEnd())
    .usage('[--source=KIND] SOURCE DEST [DEST...] | -d DEST [DEST...]')
    .argument('[args...]', 'SOURCE then DEST…, or with -d the tags to delete')
    .option(
      '--source <kind>',
      "hint for the source type: 'imagestreamtag', 'istag', 'imagestreamimage', 'isimage' or 'docker'",
    )
    .option('-d, --delete', 'delete the given tags (spec and history)')
    .option('--alias', 'the destination follows the source tag whenever it changes (same image stream only)')
    .option('--reference', 'keep pulling from the source location (no import for container images)')
    .option('--scheduled', 'import the container image periodically from its registry')
    .option('--insecure', 'the registry is served over HTTP or with a certificate that does not verify')
    .option(
      '--reference-policy <policy>',
      "'source' (default) or 'local' (pull through this service's registry)",
    )
    .option(
      '--import-mode <mode>',
      "'Legacy' (default: one platform) or 'PreserveOriginal' (the whole manifest list)",
    )
    .action(async (args: string[], opts: TagOpts, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      if (args.length === 0 && !opts.delete)
        throw new UsageError(
          'you must specify a source and at least one destination or one or more tags to delete',
        );
      const flags: TagFlags = {
        alias: opts.alias,
        reference: opts.reference,
        scheduled: opts.scheduled,
        insecure: opts.insecure,
        referencePolicy: opts.referencePolicy,
        importMode: opts.importMode,
        delete: opts.delete,
      };
      const currentNs = rt.project();
      let source: Source | undefined;
      let destArgs = args;
      if (opts.delete) {
        // oc's order: --alias first, then the source kind
        if (opts.alias) throw new UsageError('--alias and --delete may not be both specified');
        if (opts.source !== undefined) throw new UsageError('cannot specify a source kind when deleting');
      } else {
        flags.source = opts.source !== undefined ? parseSourceKind(opts.source) : undefined;
        source = inferSource(args[0]!, flags.source, currentNs);
        destArgs = args.slice(1);
      }
      const dests = destArgs.map((a) => parseDestination(a, currentNs, !opts.delete));
      validateTagFlags(flags, source, dests);
      const client = rt.client();

      if (opts.delete) {
        for (const d of dests) {
          await client.delete(paths.imagestreamtags(d.namespace, d.name));
          io.out(`Deleted tag ${d.namespace}/${d.name}.`);
        }
        return;
      }

      let src = source!;
      if (src.kind === 'ImageStreamTag' && !flags.alias) {
        const stream = await client.get<ImageStream>(
          paths.imagestreams(src.ref.namespace || currentNs, src.ref.name),
        );
        const snap = snapshotSource(src, stream, args[0]!);
        if (!snap)
          throw new CliError(
            `"${args[0]}" is not currently pointing to an image, cannot use it as the source of a tag`,
          );
        src = snap;
        checkImportFlags(flags, src.kind);
      }
      const imports = src.kind === 'DockerImage' && !flags.reference;
      const written: Array<{ dest: Destination; generation: number }> = [];
      for (const d of dests) {
        const answer = await writeTag(client, d, buildTagReference(src, d, flags, currentNs));
        io.out(tagMessage(src, d, flags, currentNs));
        written.push({ dest: d, generation: answer?.tag?.generation ?? 0 });
      }
      if (imports) for (const w of written) await awaitImport(client, io, w.dest, w.generation);
    });

  program
    .command('rollback')
    .description('Point a tag back at an earlier image of its own history')
    .addHelpText('after', ROLLBACK_HELP.trimEnd())
    .argument('<stream:tag>', 'the tag to roll back, [<project>/]<stream>:<tag>')
    .option(
      '--to <digest>',
      'the image to go back to: a digest, or a unique prefix of one, from the tag history',
    )
    .option('--steps <n>', 'how many distinct images to go back (default 1)')
    .action(async (arg: string, opts: { to?: string; steps?: string }, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      if (opts.to !== undefined && opts.steps !== undefined)
        throw new UsageError('--to and --steps may not be both specified');
      const steps = parseSteps(opts.steps);
      const dest = parseDestination(arg, rt.project(), false);
      const client = rt.client();
      const { stream, history } = await readForRollback(client, dest, steps, opts.to !== undefined);
      const choice = chooseRollback(dest.name, history, {
        ...(steps !== undefined ? { steps } : {}),
        ...(opts.to !== undefined ? { to: opts.to } : {}),
      });
      const old = stream.spec.tags?.find((t) => t.name === dest.tag);
      const tag: TagReference = {
        name: dest.tag,
        from: { kind: 'ImageStreamImage', name: `${dest.stream}@${choice.to.image}` },
        reference: false,
        importPolicy: { importMode: old?.importPolicy?.importMode || 'Legacy' },
        referencePolicy: old?.referencePolicy?.type ? old.referencePolicy : { type: 'Source' },
      };
      const result = await client.put<ImageStreamTag>(paths.imagestreamtags(dest.namespace, dest.name), {
        kind: 'ImageStreamTag',
        apiVersion: 'image.openshift.io/v1',
        metadata: {
          name: dest.name,
          namespace: dest.namespace,
          resourceVersion: stream.metadata.resourceVersion,
          ...(old?.annotations ? { annotations: old.annotations } : {}),
        },
        tag,
      });
      const now = result.image?.metadata?.name;
      if (now !== choice.to.image)
        throw new CliError(
          `the server did not move ${dest.name} to ${choice.to.image} (it points to ${now || 'no image'}); check it with isctl get istag ${dest.name}`,
        );
      const back = `${choice.steps} image${choice.steps === 1 ? '' : 's'} back`;
      io.out(`Tag ${dest.name} rolled back from ${choice.from.image || '(no image)'} to ${now} (${back}).`);
      io.out(`  was: ${choice.from.dockerImageReference}`);
      io.out(`  now: ${result.image.dockerImageReference}`);
      if (old?.from?.kind === 'DockerImage') {
        const again = `isctl tag${old.importPolicy?.scheduled ? ' --scheduled' : ''}${old.importPolicy?.insecure ? ' --insecure' : ''} ${old.from.name} ${dest.name}`;
        io.err(
          old.importPolicy?.scheduled
            ? `warning: ${dest.name} was imported periodically from ${old.from.name}; it now points to a fixed image and is no longer re-imported. To follow the registry again: ${again}`
            : `warning: ${dest.name} was imported from ${old.from.name}; it now points to a fixed image and import-image no longer re-imports it. To import from the registry again: ${again}`,
        );
      }
    });
}

/** PUT imagestreamtags (upsert); a server without it (404, 405) or refusing it (403) gets a POST, as oc does. */
/** How long `isctl tag` waits for the import a container image source starts (oc does not wait at all). */
const IMPORT_WAIT_MS = Number(process.env.ISCTL_TAG_IMPORT_WAIT_MS ?? 15_000);
const IMPORT_POLL_MS = 250;

/**
 * Tagging a container image starts an import on the server, which may fail (no such image, a registry that needs
 * credentials or --insecure). oc returns at once and says nothing; isctl waits a little for the outcome, so a new
 * user hears about a failure: the import's condition for the tag's new spec generation is an error (exit 1), an
 * event for it is success (silent), and when neither has come within the wait it says so and succeeds.
 */
async function awaitImport(client: ApiClient, io: Io, dest: Destination, generation: number): Promise<void> {
  const [stream, tag] = [dest.name.split(':')[0]!, dest.name.split(':').slice(1).join(':')];
  const deadline = Date.now() + IMPORT_WAIT_MS;
  for (;;) {
    const is = await client.get<ImageStream>(paths.imagestreams(dest.namespace, stream));
    const status = is.status?.tags?.find((t) => t.tag === tag);
    if ((status?.items?.[0]?.generation ?? -1) >= generation) return;
    const failed = status?.conditions?.find(
      (c) => c.type === 'ImportSuccess' && c.status === 'False' && c.generation >= generation,
    );
    if (failed) {
      const hint = /is HTTP only/.test(failed.message ?? '') ? `\n${PLAIN_HTTP_HINT}` : '';
      throw new CliError(
        `the import of ${dest.namespace}/${dest.name} failed: ${failed.message || failed.reason || 'unknown error'}${hint}`,
      );
    }
    if (Date.now() >= deadline) {
      io.err(
        `info: the import of ${dest.namespace}/${dest.name} has not finished yet; follow it with isctl describe istag/${dest.name}`,
      );
      return;
    }
    await new Promise((r) => setTimeout(r, IMPORT_POLL_MS));
  }
}

async function writeTag(
  client: ApiClient,
  dest: Destination,
  tag: TagReference,
): Promise<ImageStreamTag | undefined> {
  const path = paths.imagestreamtags(dest.namespace, dest.name);
  const body = {
    kind: 'ImageStreamTag',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: dest.name, namespace: dest.namespace },
    tag,
  };
  try {
    return await client.put<ImageStreamTag>(path, body);
  } catch (e) {
    if (!(e instanceof ServerError) || ![403, 404, 405].includes(e.httpStatus)) throw e;
    return await client.post<ImageStreamTag>(paths.imagestreamtags(dest.namespace), body);
  }
}

const HISTORY_PAGE = 100;

/**
 * The stream (for the spec tag and its resourceVersion) and the tag's history (newest first) from the same
 * version of the stream: read again when a write came between the two reads. The history is read page by page
 * until `steps` distinct earlier images are known, or whole when `all`.
 */
async function readForRollback(
  client: ApiClient,
  dest: Destination,
  steps: number | undefined,
  all: boolean,
): Promise<{ stream: ImageStream; history: TagEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const stream = await client.get<ImageStream>(paths.imagestreams(dest.namespace, dest.stream));
    const history: TagEvent[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await client.get<ImageStreamTagHistory>(
        `${paths.tagHistory(dest.namespace, dest.name)}?limit=${HISTORY_PAGE}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      rv ??= page.metadata.resourceVersion;
      history.push(...page.items);
      cont = page.metadata.continue;
      const current = history[0]?.image;
      const earlier = distinctImages(history).filter((e) => e.image !== current).length;
      if (!all && earlier >= (steps ?? 1)) break;
    } while (cont);
    if (rv === stream.metadata.resourceVersion || attempt >= 4) return { stream, history };
  }
}
