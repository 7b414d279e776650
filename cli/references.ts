/**
 * The pure part of `isctl tag`, `isctl rollback` and `isctl import-image`: parsing what users type and deciding
 * what to send, following `oc` (docs/semantics.md#oc-tag). No I/O here; the commands in cli/commands/ call the API.
 */
import type {
  ImageStream,
  ImageStreamImport,
  TagEvent,
  TagImportPolicy,
  TagReference,
} from '../functions/core/api-types';
import { parseDockerImageReference } from '../functions/core/reference';
import { UsageError } from './errors';

export type SourceKind = 'DockerImage' | 'ImageStreamTag' | 'ImageStreamImage';

/** OpenShift's as-written split of a reference (library-go `reference.Parse`): no defaults applied. */
export interface ImageRef {
  registry: string;
  namespace: string;
  name: string;
  tag: string;
  id: string;
}

/** Parses a pull spec or stream reference; throws with the parser's reason. */
export function parseImageRef(spec: string): ImageRef {
  const r = parseDockerImageReference(spec);
  return { registry: r.registry, namespace: r.namespace, name: r.name, tag: r.tag, id: r.id };
}

const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/** `name@id` when there is an id (a digest wins over a tag), else `name:tag`, else `name` (oc NameString). */
export function nameString(r: ImageRef): string {
  if (!r.name) return '';
  if (r.id) return `${r.name}${DIGEST.test(r.id) ? '@' : ':'}${r.id}`;
  if (r.tag) return `${r.name}:${r.tag}`;
  return r.name;
}

/** `[registry/][namespace/]name[@id|:tag]`, exactly the set fields (oc DockerImageReferenceExact). */
export function exactRef(r: ImageRef): string {
  const name = nameString(r);
  if (!name) return '';
  return `${r.registry ? `${r.registry}/` : ''}${r.namespace ? `${r.namespace}/` : ''}${name}`;
}

const VALID_SOURCES = ['docker', 'dockerimage', 'imagestreamimage', 'imagestreamtag', 'isimage', 'istag'];

/** `--source`: what oc's REST mapper accepts (resource, singular or plural, short name, any case) plus docker. */
export function parseSourceKind(raw: string): SourceKind {
  const k = raw.toLowerCase();
  if (['imagestreamtag', 'imagestreamtags', 'istag'].includes(k)) return 'ImageStreamTag';
  if (['imagestreamimage', 'imagestreamimages', 'isimage'].includes(k)) return 'ImageStreamImage';
  if (['docker', 'dockerimage'].includes(k)) return 'DockerImage';
  throw new UsageError(`invalid source "${raw}"; valid values are ${VALID_SOURCES.join(', ')}`);
}

/** oc keeps Docker's default namespace out of stream references: `library/x:y` means this project. */
const DOCKER_DEFAULT_NAMESPACE = 'library';

export interface Source {
  kind: SourceKind;
  ref: ImageRef;
}

/**
 * SOURCE of `isctl tag` (docs/semantics.md#oc-tag): with `--source`, checks it fits; without, infers it: a registry host →
 * DockerImage; `@digest` → ImageStreamImage; `:tag` → ImageStreamTag; else DockerImage. For stream sources a
 * `library/` namespace becomes `currentNs`.
 */
export function inferSource(spec: string, kindFlag: SourceKind | undefined, currentNs: string): Source {
  let ref: ImageRef;
  try {
    ref = parseImageRef(spec);
  } catch (e) {
    throw new UsageError(`invalid SOURCE: ${(e as Error).message}`);
  }
  let kind = kindFlag;
  if (kind === 'ImageStreamTag' || kind === 'ImageStreamImage') {
    if (ref.registry)
      throw new UsageError('server in SOURCE is only allowed when providing a container image');
    if (kind === 'ImageStreamTag' && !ref.tag)
      throw new UsageError('--source=ImageStreamTag requires a valid <name>:<tag> in SOURCE');
    if (kind === 'ImageStreamImage' && !ref.id)
      throw new UsageError('--source=ImageStreamImage requires a valid <name>@<id> in SOURCE');
  } else if (!kind) {
    if (ref.registry) kind = 'DockerImage';
    else if (ref.id) kind = 'ImageStreamImage';
    else if (ref.tag) kind = 'ImageStreamTag';
    else kind = 'DockerImage';
  }
  if (kind !== 'DockerImage' && ref.namespace === DOCKER_DEFAULT_NAMESPACE)
    ref = { ...ref, namespace: currentNs };
  return { kind, ref };
}

export interface Destination {
  namespace: string;
  stream: string;
  tag: string;
  /** `<stream>:<tag>`, the ImageStreamTag name. */
  name: string;
  /** Whether the destination was given with a namespace other than the current one. */
  crossNamespace: boolean;
}

const TAG_NAME = /^[\w][\w.-]{0,127}$/;

/** oc's client-side tag name check (the server checks Docker's grammar too). */
export function validateTagName(tag: string): void {
  if (!TAG_NAME.test(tag))
    throw new UsageError(
      `invalid tag "${tag}" format, tags must start with an alphanumeric character followed by alphanumeric, '.' or '-' characters, and have a maximum of 128 characters`,
    );
}

/** DEST = `[<ns>/]<stream>:<tag>`; the tag name is checked unless deleting (existing tags may be odd). */
export function parseDestination(arg: string, currentNs: string, checkTag = true): Destination {
  let namespace = currentNs;
  let nameAndTag = arg;
  if (arg.includes('/')) {
    const parts = arg.split('/');
    if (parts.length !== 2) throw new UsageError(`invalid image stream "${arg}"`);
    if (!parts[0]) throw new UsageError(`invalid namespace "${parts[0]}" for image stream "${arg}"`);
    if (!parts[1]) throw new UsageError(`invalid name "${parts[1]}" for image stream "${arg}"`);
    namespace = parts[0];
    nameAndTag = parts[1];
  }
  const colon = nameAndTag.indexOf(':');
  const stream = colon < 0 ? '' : nameAndTag.slice(0, colon);
  const tag = colon < 0 ? '' : nameAndTag.slice(colon + 1);
  if (!stream || !tag || nameAndTag.includes('@'))
    throw new UsageError(`"${nameAndTag}" must be of the form <stream_name>:<tag>`);
  if (checkTag) validateTagName(tag);
  return { namespace, stream, tag, name: `${stream}:${tag}`, crossNamespace: namespace !== currentNs };
}

/** The flags of `isctl tag` that shape the spec tag. */
export interface TagFlags {
  alias?: boolean;
  reference?: boolean;
  scheduled?: boolean;
  insecure?: boolean;
  referencePolicy?: string;
  importMode?: string;
  delete?: boolean;
  source?: SourceKind;
}

export type ReferencePolicyType = 'Source' | 'Local';

/** `--reference-policy` of `isctl tag`: `source` (default) or `local`, as oc spells them. */
export function parseTagReferencePolicy(raw: string | undefined): ReferencePolicyType {
  if (raw === undefined || raw === 'source') return 'Source';
  if (raw === 'local') return 'Local';
  throw new UsageError("reference policy must be set to 'source' or 'local'");
}

export type ImportModeType = 'Legacy' | 'PreserveOriginal';

/** `--import-mode`: Legacy (default) or PreserveOriginal. */
export function parseImportMode(raw: string | undefined): ImportModeType {
  if (raw === undefined || raw === '' || raw === 'Legacy') return 'Legacy';
  if (raw === 'PreserveOriginal') return 'PreserveOriginal';
  throw new UsageError('valid ImportMode values are Legacy or PreserveOriginal');
}

/**
 * The checks oc makes before it talks to the server, in oc's order. `source` is undefined when deleting.
 * Importing flags on a non-alias ImageStreamTag source are checked later ({@link checkImportFlags}): the source
 * may turn out to be a DockerImage once the tag is read.
 */
export function validateTagFlags(flags: TagFlags, source: Source | undefined, dests: Destination[]): void {
  if (flags.delete && flags.alias) throw new UsageError('--alias and --delete may not be both specified');
  parseTagReferencePolicy(flags.referencePolicy);
  if (flags.delete) {
    if (flags.source) throw new UsageError('cannot specify a source kind when deleting');
    if (flags.scheduled || flags.insecure)
      throw new UsageError('cannot set flags for importing images when deleting a tag');
    if (flags.importMode !== undefined) throw new UsageError('cannot specify an import mode when deleting');
  }
  if (dests.length === 0) throw new UsageError('at least a destination is required');
  if (source && !(source.kind === 'ImageStreamTag' && !flags.alias)) checkImportFlags(flags, source.kind);
  if (source && flags.alias) {
    if (flags.scheduled || flags.insecure)
      throw new UsageError('cannot set a container image tag as an alias and also set import flags');
    const srcNs = source.ref.namespace;
    const cross = dests.some(
      (d) => d.crossNamespace || d.stream !== source.ref.name || (srcNs !== '' && srcNs !== d.namespace),
    );
    if (cross) throw new UsageError('cannot set alias across different Image Streams');
  }
  if (!flags.delete) parseImportMode(flags.importMode);
}

/** `--scheduled` / `--insecure` only make sense for tags that import from a registry. */
export function checkImportFlags(flags: TagFlags, kind: SourceKind): void {
  if (kind !== 'DockerImage' && (flags.scheduled || flags.insecure))
    throw new UsageError('only container images can have importing flags set');
}

/**
 * A non-alias ImageStreamTag source is a snapshot (docs/semantics.md#oc-tag): the source tag's current event becomes an
 * ImageStreamImage `<stream>@<digest>` in the source's namespace, or, for an event without an image (a
 * reference-only tag), a DockerImage of its pull spec. Returns undefined when the tag has no event yet.
 */
export function snapshotSource(source: Source, stream: ImageStream, arg: string): Source | undefined {
  const tag = source.ref.tag || 'latest';
  const event = stream.status?.tags?.find((t) => t.tag === tag)?.items?.[0];
  if (!event) return undefined;
  if (!event.image) {
    let ref: ImageRef;
    try {
      ref = parseImageRef(event.dockerImageReference);
    } catch (e) {
      throw new Error(
        `the image stream tag "${arg}" has an invalid pull spec and cannot be used to tag: ${(e as Error).message}`,
      );
    }
    return { kind: 'DockerImage', ref };
  }
  return { kind: 'ImageStreamImage', ref: { ...source.ref, tag: '', id: event.image } };
}

/**
 * The spec tag `isctl tag` writes to one destination, as oc builds it: DockerImage sources keep the reference
 * as written and ask for an import (`generation: 0`); stream sources name `<stream>:<tag>` / `<stream>@<id>`
 * with the source namespace, or the current one when the destination lives elsewhere. The import mode is sent
 * explicitly.
 */
export function buildTagReference(
  source: Source,
  dest: Destination,
  flags: TagFlags,
  currentNs: string,
): TagReference {
  const tag: TagReference = {
    name: dest.tag,
    reference: !!flags.reference,
    importPolicy: {
      insecure: !!flags.insecure,
      scheduled: !!flags.scheduled,
      importMode: parseImportMode(flags.importMode),
    },
    referencePolicy: { type: parseTagReferencePolicy(flags.referencePolicy) },
    from: { kind: source.kind },
  };
  if (source.kind === 'DockerImage') {
    tag.from!.name = exactRef(source.ref);
    tag.generation = 0;
  } else {
    tag.from!.name = nameString(source.ref);
    const ns = source.ref.namespace || (dest.namespace !== currentNs ? currentNs : '');
    if (ns) tag.from!.namespace = ns;
  }
  return tag;
}

/** oc's message for a tag it wrote. */
export function tagMessage(source: Source, dest: Destination, flags: TagFlags, currentNs: string): string {
  const same = dest.namespace === currentNs;
  const d = same ? dest.name : `${dest.namespace}/${dest.name}`;
  const s = exactRef(source.ref);
  if (flags.alias) return `Tag ${d} set up to track ${s}.`;
  if (flags.scheduled)
    return same ? `Tag ${d} set to import ${s} periodically.` : `Tag ${d} set to ${s} periodically.`;
  return `Tag ${d} set to ${s}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// rollback
// ---------------------------------------------------------------------------------------------------------------

export interface RollbackChoice {
  /** The tag's current event. */
  from: TagEvent;
  /** The event whose image becomes current again. */
  to: TagEvent;
  /** How many distinct images back the target is (1 = the previous one). */
  steps: number;
}

/** Distinct images of a history (newest first), in the order they first appear; events without image skipped. */
export function distinctImages(history: TagEvent[]): TagEvent[] {
  const seen = new Set<string>();
  const out: TagEvent[] = [];
  for (const e of history) {
    if (!e.image || seen.has(e.image)) continue;
    seen.add(e.image);
    out.push(e);
  }
  return out;
}

/** `--steps N`: a whole number from 1. */
export function parseSteps(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw))
    throw new UsageError(`--steps must be a positive whole number, not "${raw}"`);
  return Number(raw);
}

/** `--to`: a digest (`sha256:<hex>`) or a prefix of its hex (with or without `sha256:`). */
export function parseDigestPrefix(raw: string): string {
  if (!/^(?:[a-z0-9]+:)?[0-9a-f]+$/.test(raw))
    throw new UsageError(`--to must be an image digest or a prefix of one (hex digits), not "${raw}"`);
  return raw;
}

const matchesPrefix = (image: string, prefix: string) =>
  image.startsWith(prefix) || (image.split(':')[1] ?? '').startsWith(prefix);

/**
 * Which image a rollback of `name` goes to: `steps` distinct images back (images equal to the current one do not
 * count), or the one image of the history that `to` is a prefix of. `history` is newest first and complete enough:
 * for `to`, the whole history.
 */
export function chooseRollback(
  name: string,
  history: TagEvent[],
  opts: { steps?: number; to?: string },
): RollbackChoice {
  const current = history[0];
  if (!current) throw new Error(`"${name}" has no history to roll back`);
  const earlier = distinctImages(history.slice(1)).filter((e) => e.image !== current.image);
  if (opts.to !== undefined) {
    const prefix = parseDigestPrefix(opts.to);
    const all = distinctImages(history);
    const matches = all.filter((e) => matchesPrefix(e.image, prefix));
    const list = (events: TagEvent[]) =>
      events.map((e) => `  ${e.image}  ${e.dockerImageReference}`).join('\n');
    if (matches.length === 0)
      throw new Error(
        `no image in the history of "${name}" matches "${prefix}"; its images are:\n${list(all)}`,
      );
    if (matches.length > 1)
      throw new Error(
        `"${prefix}" matches ${matches.length} images in the history of "${name}":\n${list(matches)}\nGive more digits.`,
      );
    const target = matches[0]!;
    if (target.image === current.image) throw new Error(`"${name}" already points to ${current.image}`);
    return { from: current, to: target, steps: earlier.findIndex((e) => e.image === target.image) + 1 };
  }
  const steps = opts.steps ?? 1;
  const target = earlier[steps - 1];
  if (!target)
    throw new Error(
      earlier.length === 0
        ? `"${name}" has no earlier image to roll back to`
        : `"${name}" has only ${earlier.length} earlier image${earlier.length === 1 ? '' : 's'} in its history, cannot go back ${steps}`,
    );
  return { from: current, to: target, steps };
}

// ---------------------------------------------------------------------------------------------------------------
// import-image
// ---------------------------------------------------------------------------------------------------------------

export interface ImportTarget {
  /** The image stream (the last path segment of the target). */
  name: string;
  /** The tag; empty with --all. */
  tag: string;
}

/** NAME[:TAG] of `isctl import-image` (oc parses it as a pull spec and keeps its name and tag). */
export function parseImportTarget(target: string | undefined, all: boolean): ImportTarget {
  if (!target) throw new UsageError('you must specify the name of an image stream');
  let ref: ImageRef;
  try {
    ref = parseImageRef(target);
  } catch {
    throw new UsageError(
      'the image name must be a valid container image pull spec or reference to an image stream (e.g. myregistry/myteam/image:tag)',
    );
  }
  if (ref.id) throw new UsageError("to import images by ID, use the 'isctl tag' command");
  if (ref.tag && all) throw new UsageError(`cannot specify a tag "${target}" as well as --all`);
  return { name: ref.name, tag: ref.tag || (all ? '' : 'latest') };
}

/** `--reference-policy` of `isctl import-image` (any case; only sent when given). */
export function parseImportReferencePolicy(raw: string | undefined): ReferencePolicyType | undefined {
  if (raw === undefined) return undefined;
  const v = raw.toLowerCase();
  if (v === 'source') return 'Source';
  if (v === 'local') return 'Local';
  throw new UsageError('valid reference policy values are source or local');
}

/**
 * Follows same-stream ImageStreamTag aliases from `tag` to the tag that really imports (oc FollowTagReference).
 * Returns the final tag, its spec (undefined when the chain ends at a missing tag) and whether it was followed.
 */
export function followTagReference(
  stream: ImageStream,
  tag: string,
): { tag: string; spec: TagReference | undefined; multiple: boolean } {
  const ns = stream.metadata.namespace ?? '';
  const name = stream.metadata.name ?? '';
  const seen = new Set<string>();
  let multiple = false;
  let current = tag;
  for (;;) {
    if (seen.has(current)) throw new Error(`tag "${tag}" on the image stream is a reference to same tag`);
    seen.add(current);
    const spec = stream.spec.tags?.find((t) => t.name === current);
    if (!spec) return { tag: current, spec: undefined, multiple };
    if (spec.from?.kind !== 'ImageStreamTag') return { tag: current, spec, multiple };
    if (spec.from.namespace && spec.from.namespace !== ns)
      throw new Error(`tag "${tag}" points to an imagestreamtag from another ImageStream`);
    const from = spec.from.name ?? '';
    if (from.includes(':')) {
      const [s, t, ...rest] = from.split(':');
      if (rest.length || !s || !t) throw new Error(`tag "${tag}" points to an invalid imagestreamtag`);
      if (s !== name) throw new Error(`tag "${tag}" points to an imagestreamtag from another ImageStream`);
      current = t;
    } else {
      current = from;
    }
    multiple = true;
  }
}

export interface ImportFlags {
  from?: string;
  all?: boolean;
  confirm?: boolean;
  dryRun?: boolean;
  scheduled?: boolean;
  /** undefined when --insecure was not given (then the stream's insecure annotation counts). */
  insecure?: boolean;
  importMode?: string;
  referencePolicy?: string;
}

export const INSECURE_ANNOTATION = 'openshift.io/image.insecureRepository';

/** What import-image sends: the ImageStreamImport, and the tags it imports with their sources (for output). */
export interface ImportPlan {
  isi: ImageStreamImport;
  /** The stream does not exist yet: the import creates it. */
  creating: boolean;
  /** A whole-repository import (`spec.repository`), with the repository. */
  repository?: string;
}

function isiFor(name: string, ns: string, rv: string | undefined, flags: ImportFlags): ImageStreamImport {
  return {
    kind: 'ImageStreamImport',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name, namespace: ns, ...(rv ? { resourceVersion: rv } : {}) },
    spec: { import: !flags.dryRun, images: [] },
    status: {},
  };
}

function importPolicy(flags: ImportFlags, insecure: boolean, scheduled: boolean): TagImportPolicy {
  return { insecure, scheduled, importMode: parseImportMode(flags.importMode) };
}

function referencePolicyOf(flags: ImportFlags) {
  const type = parseImportReferencePolicy(flags.referencePolicy);
  return type ? { referencePolicy: { type } } : {};
}

/**
 * The ImageStreamImport of `isctl import-image` (docs/semantics.md#oc-import-image), from the target, the flags and the stream as
 * it is now (undefined when missing). Throws what oc says when the request makes no sense for that stream.
 */
export function planImport(
  target: ImportTarget,
  rawTarget: string,
  flags: ImportFlags,
  stream: ImageStream | undefined,
  ns: string,
): ImportPlan {
  if (!stream) {
    if (!flags.confirm)
      throw new Error(`no image stream named "${target.name}" exists, pass --confirm to create and import`);
    const from = flags.from || rawTarget;
    const isi = isiFor(target.name, ns, undefined, flags);
    const policy = importPolicy(flags, !!flags.insecure, !!flags.scheduled);
    if (flags.all) {
      isi.spec.repository = {
        from: { kind: 'DockerImage', name: from },
        importPolicy: policy,
        ...referencePolicyOf(flags),
      };
      delete isi.spec.images;
      return { isi, creating: true, repository: from };
    }
    isi.spec.images = [
      {
        from: { kind: 'DockerImage', name: from },
        to: { name: target.tag },
        importPolicy: policy,
        ...referencePolicyOf(flags),
      },
    ];
    return { isi, creating: true };
  }

  const rv = stream.metadata.resourceVersion;
  const streamInsecure =
    flags.insecure !== undefined
      ? flags.insecure
      : stream.metadata.annotations?.[INSECURE_ANNOTATION] === 'true';
  const isi = isiFor(target.name, ns, rv, flags);
  const specTags = stream.spec.tags ?? [];
  const images = (tags: Array<[string, string]>) =>
    tags.map(([tag, from]) => {
      const old = specTags.find((t) => t.name === tag);
      return {
        from: { kind: 'DockerImage', name: from },
        to: { name: tag },
        importPolicy: importPolicy(
          flags,
          streamInsecure || !!old?.importPolicy?.insecure,
          !!flags.scheduled || !!old?.importPolicy?.scheduled,
        ),
        ...referencePolicyOf(flags),
      };
    });

  if (flags.all) {
    const repo = stream.spec.dockerImageRepository ?? '';
    const from = flags.from || repo;
    if (!from) {
      const tags = specTags
        .filter((t) => t.from?.kind === 'DockerImage' && t.from.name)
        .map((t): [string, string] => [t.name, t.from!.name!]);
      if (tags.length === 0)
        throw new Error('image stream does not have tags pointing to external container images');
      isi.spec.images = images(tags);
      return { isi, creating: false };
    }
    if (from !== repo && !flags.confirm) {
      if (!repo)
        throw new Error(
          'the image stream does not currently import an entire Docker repository, pass --confirm to update',
        );
      throw new Error(`the image stream has a different import spec "${repo}", pass --confirm to update`);
    }
    delete isi.spec.images;
    isi.spec.repository = {
      from: { kind: 'DockerImage', name: from },
      importPolicy: importPolicy(flags, streamInsecure, !!flags.scheduled),
      ...referencePolicyOf(flags),
    };
    return { isi, creating: false, repository: from };
  }

  let from = flags.from ?? '';
  let tag = target.tag;
  const followed = followTagReference(stream, tag);
  if (!followed.spec) {
    if (!from && tag === 'latest') from = stream.spec.dockerImageRepository ?? '';
    if (!from)
      throw new Error(
        `the tag "${tag}" does not exist on the image stream - choose an existing tag to import or use the 'isctl tag' command to create a new tag`,
      );
  } else {
    const existing = followed.spec;
    if (existing.from && existing.from.kind !== 'DockerImage')
      throw new Error(
        `tag "${tag}" points to existing ${existing.from.kind} "${existing.from.name}", it cannot be re-imported`,
      );
    if (!existing.from)
      throw new Error(
        `tag "${tag}" already exists - you must use the 'isctl tag' command if you want to change the source to "${from}"`,
      );
    if (from && from !== existing.from.name) {
      if (followed.multiple)
        throw new Error(
          `the tag "${tag}" points to the tag "${followed.tag}" which points to "${existing.from.name}" - use the 'isctl tag' command if you want to change the source to "${from}"`,
        );
      throw new Error(
        `the tag "${tag}" points to "${existing.from.name}" - use the 'isctl tag' command if you want to change the source to "${from}"`,
      );
    }
    from = existing.from.name ?? '';
    if (followed.multiple) tag = followed.tag;
  }
  isi.spec.images = images([[tag, from]]);
  return { isi, creating: false };
}

/** Whether any image, or the repository, of an import answer failed (oc `wasError`). */
export function importFailed(isi: ImageStreamImport): boolean {
  if ((isi.status.images ?? []).some((i) => i.status?.status === 'Failure')) return true;
  return isi.status.repository?.status?.status === 'Failure';
}

/**
 * The pull spec a tag resolves to now (docs/semantics.md#pull-spec-resolution): `<status.dockerImageRepository>@<image>` with the
 * Local reference policy, else the event's own reference.
 */
export function resolvedPullSpec(stream: ImageStream, tag: string): { event?: TagEvent; pullSpec: string } {
  const event = stream.status?.tags?.find((t) => t.tag === tag)?.items?.[0];
  if (!event) return { pullSpec: '' };
  const spec = stream.spec.tags?.find((t) => t.name === tag);
  const repo = stream.status?.dockerImageRepository ?? '';
  if (spec?.referencePolicy?.type === 'Local' && repo && event.image)
    return { event, pullSpec: `${repo}@${event.image}` };
  return { event, pullSpec: event.dockerImageReference };
}
