import type { Command } from 'commander';
import type {
  Image,
  ImageImportStatus,
  ImageStream,
  ImageStreamImport,
} from '../../functions/core/api-types';
import { CliError, ServerError } from '../errors';
import { ago } from '../output';
import { paths } from '../paths';
import {
  type ImportFlags,
  type ImportPlan,
  importFailed,
  parseImportMode,
  parseImportReferencePolicy,
  parseImportTarget,
  planImport,
  resolvedPullSpec,
} from '../references';
import { type Io, processIo, runtimeFor } from '../runtime';

const IMPORT_HELP = `
The command fetches the image a remote tag points to now and moves the image stream tag to it if it changed.
Running it again when nothing changed adds nothing to the tag's history. Only metadata is copied, never layers.
To change where a tag imports from, or to add a tag, use 'isctl tag'.

Examples:
  isctl import-image app --from=quay.io/org/app:latest --confirm   # new stream app, tag latest
  isctl import-image app                                           # re-import app:latest
  isctl import-image app:1.2                                       # re-import app:1.2
  isctl import-image app --from=quay.io/org/app --all --confirm    # every tag of the repository (up to 50)
  isctl import-image app --import-mode=PreserveOriginal            # keep the whole manifest list

Exit status: 0 when every image imported, 1 when any image (or the repository) failed; each failure is printed.
`;

/** import-image: the `oc import-image` experience. */
export function registerImportCommands(program: Command, io: Io): void {
  program
    .command('import-image')
    .description('Import images from a container image registry (as oc import-image does)')
    .addHelpText('after', IMPORT_HELP.trimEnd())
    .argument('[name]', 'IMAGESTREAM[:TAG] (the tag defaults to latest)')
    .option('--from <image>', 'the container image (or repository, with --all) to import from')
    .option('--confirm', 'allow creating the image stream, or changing the repository it imports')
    .option(
      '--all',
      "import every tag of the repository (--from, or the stream's repository), or of every tag imported from a registry",
    )
    .option('--dry-run', 'fetch the image information without creating or changing the image stream')
    .option('--scheduled', 'import the imported tags periodically from now on')
    .option(
      '--insecure',
      "the registry is served over HTTP or with a certificate that does not verify (overrides the stream's insecure annotation)",
    )
    .option(
      '--import-mode <mode>',
      "'Legacy' (default: one platform) or 'PreserveOriginal' (the whole manifest list)",
    )
    .option('--reference-policy <policy>', "'source' or 'local' (pull through this service's registry)")
    .action(async (target: string | undefined, opts: ImportFlags, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      const parsed = parseImportTarget(target, !!opts.all);
      parseImportReferencePolicy(opts.referencePolicy);
      parseImportMode(opts.importMode);
      // commander's option names are the flags' names.
      const flags: ImportFlags = { ...opts };
      const ns = rt.project();
      const client = rt.client();
      const progress = opts.all ? new Progress(io) : undefined;
      // The import carries the stream's resourceVersion, so a stream that changed since it was read (a spec-driven
      // or scheduled import, another user) answers 409: read it again and decide again, a few times.
      for (let attempt = 1; ; attempt++) {
        progress?.line(`Reading imagestream ${ns}/${parsed.name}…`);
        let stream: ImageStream | undefined;
        try {
          stream = await client.get<ImageStream>(paths.imagestreams(ns, parsed.name));
        } catch (e) {
          if (!(e instanceof ServerError) || e.httpStatus !== 404) throw e;
        }
        const plan = planImport(parsed, target!, flags, stream, ns);
        const count = plan.isi.spec.images?.length ?? 0;
        const what = plan.repository
          ? `all tags of ${plan.repository}`
          : `${count} tag${count === 1 ? '' : 's'} imported from registries`;
        progress?.start(
          `Importing ${what} into ${plan.creating ? 'a new ' : ''}imagestream ${ns}/${parsed.name}${opts.dryRun ? ' (dry run)' : ''}; the server imports them in one request`,
        );
        let result: ImageStreamImport;
        try {
          result = await client.post<ImageStreamImport>(paths.imagestreamimports(ns), plan.isi);
        } catch (e) {
          if (e instanceof ServerError && e.httpStatus === 409 && attempt < 3) {
            progress?.stop('the image stream changed meanwhile, reading it again');
            continue;
          }
          throw e;
        } finally {
          progress?.stop();
        }
        // An answer too large to carry comes back as a Success Status saying what was done and where to read it.
        if ((result as { kind?: string }).kind === 'Status') {
          io.out(
            (result as { message?: string }).message ??
              `imagestream.image.openshift.io/${parsed.name} imported`,
          );
          return;
        }
        return report(io, result, plan, parsed.name, ns, !!opts.dryRun, progress);
      }
    });
}

/**
 * What to do about a registry that answers only plain HTTP: the server names the insecure flag in OpenShift's
 * words; a new user needs to know where it is set.
 */
export const PLAIN_HTTP_HINT =
  'hint: the registry answers only plain HTTP (no HTTPS). Import with --insecure (also on isctl tag), which sets ' +
  "the tag's importPolicy.insecure, or have the server's administrator list the registry (host:port) in " +
  'INSECURE_REGISTRIES.';

/** One image of the answer, with the stream tag it was imported into and the source it came from. */
interface Imported extends ImageImportStatus {
  tag: string;
  from: string;
}

/** Prints the outcome as oc does: the name line, a summary of what was imported, failures on stderr. */
function report(
  io: Io,
  result: ImageStreamImport,
  plan: ImportPlan,
  name: string,
  ns: string,
  dryRun: boolean,
  progress: Progress | undefined,
): void {
  const failed = importFailed(result);
  const repo = result.status.repository;
  const repoImages = repo?.images ?? [];
  // status.images[i] answers spec.images[i]; its own `tag` is the remote tag, the stream tag is spec's `to`
  const specImages = plan.isi.spec.images ?? [];
  const all: Imported[] = [
    ...(result.status.images ?? []).map((i, n) => ({
      ...i,
      tag: specImages[n]?.to?.name || i.tag || '',
      from: specImages[n]?.from.name ?? '',
    })),
    ...repoImages.map((i) => ({ ...i, tag: i.tag ?? '', from: `${plan.repository ?? ''}:${i.tag ?? ''}` })),
  ];

  if (progress) {
    for (const i of all) {
      const tag = i.tag || '(by digest)';
      progress.line(
        i.status?.status === 'Failure' || !i.image
          ? `tag ${tag} failed: ${i.status?.message || i.status?.reason || 'unknown error'}`
          : `tag ${tag} ${dryRun ? 'found' : 'imported'}`,
      );
    }
  } else {
    for (const i of all)
      if (i.status?.status === 'Failure' || !i.image)
        io.err(`error: tag ${i.tag || '(by digest)'} failed: ${i.status?.message || 'unknown error'}`);
  }
  if (repo?.status?.status === 'Failure' && !repoImages.some((i) => i.status?.status === 'Failure'))
    io.err(
      `error: repository ${plan.repository ?? ''} failed: ${repo.status.message || repo.status.reason || 'unknown error'}`,
    );

  let message = failed ? 'imported with errors' : 'imported';
  if (dryRun) message += ' (dry run)';
  const lines = [`imagestream.image.openshift.io/${name} ${message}`, ''];
  lines.push(...describe(result, plan, name, ns, all));
  if (repo?.additionalTags?.length)
    lines.push(
      '',
      `info: The remote repository contained ${repo.additionalTags.length} additional tags which were not imported: ${repo.additionalTags.join(', ')}`,
    );
  io.out(lines.join('\n').trimEnd());
  if (progress) {
    const ok = all.filter((i) => i.image && i.status?.status !== 'Failure').length;
    progress.line(
      `${dryRun ? 'found' : 'imported'} ${ok} of ${all.length} tag${all.length === 1 ? '' : 's'}`,
    );
  }
  const httpOnly = [...all.map((i) => i.status?.message), repo?.status?.message].some((m) =>
    /is HTTP only/.test(m ?? ''),
  );
  if (httpOnly) io.err(PLAIN_HTTP_HINT);
  if (failed) throw new CliError('imported completed with errors');
}

/** A describe-like summary: the stream, then each tag the import brought in (source, digest, pull spec). */
function describe(
  result: ImageStreamImport,
  plan: ImportPlan,
  name: string,
  ns: string,
  all: Imported[],
): string[] {
  const stream = result.status.import;
  const imported = all.filter((i) => i.image && i.status?.status !== 'Failure');
  const lines = [
    `Name:\t\t\t${name}`,
    `Namespace:\t\t${ns}`,
    ...(stream?.metadata.creationTimestamp ? [`Created:\t\t${ago(stream.metadata.creationTimestamp)}`] : []),
    ...(stream?.status?.dockerImageRepository
      ? [`Image Repository:\t${stream.status.dockerImageRepository}`]
      : []),
    `Tags:\t\t\t${imported.length} ${plan.isi.spec.import ? 'imported' : 'found'}`,
  ];
  for (const i of imported) {
    const tag = i.tag;
    const from = i.from || i.image!.dockerImageReference;
    const resolved = stream && tag ? resolvedPullSpec(stream, tag) : undefined;
    const digest = resolved?.event?.image || i.image!.metadata.name || '';
    lines.push('', tag || '(by digest)', `  tagged from ${from}`);
    lines.push(`  digest:    ${digest}`);
    lines.push(`  pull spec: ${resolved?.pullSpec || i.image!.dockerImageReference}`);
    const platforms = platformsOf(i.image!);
    if (platforms) lines.push(`  manifests: ${platforms}`);
  }
  return lines;
}

function platformsOf(image: Image): string {
  return (image.dockerImageManifests ?? [])
    .map((m) => `${m.os}/${m.architecture}${m.variant ? `/${m.variant}` : ''} ${m.digest}`)
    .join(', ');
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Progress of a whole-repository import on stderr. The server imports in one request, so there is nothing to
 * count while it runs: on a terminal a spinner with the elapsed time, redrawn in place; elsewhere (pipes, CI
 * logs) one line per phase.
 */
class Progress {
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private text = '';
  private frame = 0;

  constructor(private readonly io: Io) {
    this.tty = io === processIo && !!process.stderr.isTTY && io.env.TERM !== 'dumb';
  }

  line(text: string): void {
    this.io.err(text);
  }

  start(text: string): void {
    this.started = Date.now();
    this.text = text;
    if (!this.tty) {
      this.io.err(`${text}…`);
      return;
    }
    this.draw();
    this.timer = setInterval(() => this.draw(), 100);
  }

  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }

  private draw(): void {
    const frame = SPINNER[this.frame++ % SPINNER.length];
    process.stderr.write(`\r\x1b[K${frame} ${this.text} ${this.elapsed()}`);
  }

  /** Ends the running phase (once): clears the spinner and says how long the request took. */
  stop(refused?: string): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
      process.stderr.write('\r\x1b[K');
    }
    if (this.started)
      this.io.err(
        refused
          ? `Import request refused after ${this.elapsed()}: ${refused}`
          : `Import request finished after ${this.elapsed()}`,
      );
    this.started = 0;
  }
}
