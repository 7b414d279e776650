import type {
  Image,
  ImageStream,
  NamedTagEventList,
  ObjectMeta,
  TagHistoryEntry,
  TagReference,
} from '../../functions/core/api-types';
import { prioritizeTags } from '../../functions/core/imagestream/tag-priority';
import { ago, NONE, orNone, qualifiedFrom } from '../../functions/core/printers';
import { shortDigest, table } from '../output';
import { tabbed } from './tabwriter';

/**
 * How isctl prints image streams, tags and images: the columns of OpenShift's table printers
 * (openshift-apiserver `pkg/image/printers`) and the text of oc's describers (`pkg/helpers/describe`). Pure
 * functions of the server's objects and the time, so they are unit-tested without a server.
 */

export {
  IMAGESTREAM_HEADERS,
  IMAGESTREAMIMAGE_HEADERS,
  IMAGESTREAMIMAGE_WIDE_HEADERS,
  IMAGESTREAMTAG_HEADERS,
  IMAGESTREAMTAG_WIDE_HEADERS,
  imageStreamImageRow,
  imageStreamRow,
  imageStreamTagRow,
  lastUpdated,
  listedRepository,
  tagSource,
  tagsByUpdate,
  tagsUpToWidth,
} from '../../functions/core/printers';

// ---------------------------------------------------------------------------------------------------------------
// oc describe: shared pieces (helpers.go)

/** `Label:\tvalue`, a multi-line value continuing in the value column. */
function field(label: string, value: string | undefined | null): string {
  return orNone(value)
    .split('\n')
    .map((v, i) => (i === 0 ? `${label}:\t${v}` : `\t${v}`))
    .join('\n');
}

/** `formatMapStringString`: `key=value` sorted by key, one a line, `<none>` when empty. */
function mapField(label: string, items: Record<string, string> | undefined | null): string {
  const keys = Object.keys(items ?? {}).sort();
  if (keys.length === 0) return field(label, '');
  return keys.map((k, i) => `${i === 0 ? `${label}:` : ''}\t${k}=${items![k]}`).join('\n');
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** `formatAnnotations`: a `description` annotation as its own line, the rest as a map. */
function annotationFields(annotations: Record<string, string> | undefined | null): string[] {
  // kubectl apply's copy of the whole object is noise in a description; oc and kubectl leave it out.
  const { description, [LAST_APPLIED]: _applied, ...rest } = annotations ?? {};
  return [...(description ? [field('Description', description)] : []), mapField('Annotations', rest)];
}

function timeField(label: string, iso: string | null | undefined, now?: number): string {
  return `${label}:\t${ago(iso ?? undefined, now)} (${iso})`;
}

/** `formatMeta`: Name, Namespace, Created, Labels, Annotations. */
function metaFields(m: ObjectMeta, now?: number): string[] {
  return [
    field('Name', m.name),
    ...(m.namespace ? [field('Namespace', m.namespace)] : []),
    ...(m.creationTimestamp ? [timeField('Created', m.creationTimestamp, now)] : []),
    mapField('Labels', m.labels),
    ...annotationFields(m.annotations),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// oc describe is

/**
 * Follows same-stream `ImageStreamTag` aliases to the tag they end at (`FollowTagReference`). `alias` is true
 * when at least one alias was followed and the chain ends at a spec tag in this stream without a loop.
 */
export function followTagReference(is: ImageStream, tag: string): { target: string; alias: boolean } {
  const seen = new Set<string>();
  let multiple = false;
  let cur = tag;
  for (;;) {
    if (seen.has(cur)) return { target: cur, alias: false };
    seen.add(cur);
    const ref = is.spec.tags?.find((t) => t.name === cur);
    if (!ref) return { target: cur, alias: false };
    if (ref.from?.kind !== 'ImageStreamTag') return { target: cur, alias: multiple };
    if (ref.from.namespace && ref.from.namespace !== is.metadata.namespace)
      return { target: cur, alias: false };
    const name = ref.from.name ?? '';
    if (name.includes(':')) {
      const parts = name.split(':');
      if (parts.length !== 2 || !parts[0] || !parts[1]) return { target: cur, alias: false };
      if (parts[0] !== is.metadata.name) return { target: cur, alias: false };
      cur = parts[1];
    } else {
      cur = name;
    }
    multiple = true;
  }
}

/** The generation the controller last observed for a tag: its newest event's or its failure condition's. */
function observedGeneration(list: NamedTagEventList | undefined): number {
  let gen = list?.items?.[0]?.generation ?? 0;
  const cond = list?.conditions?.find((c) => c.type === 'ImportSuccess');
  if (cond && cond.generation > gen) gen = cond.generation;
  return gen;
}

/** The digest a pull spec names (`repo@sha256:…`), if any. */
function referenceId(ref: string): string {
  const at = ref.lastIndexOf('@');
  return at >= 0 ? ref.slice(at + 1) : '';
}

/** The source line of a spec tag, as oc words it. */
function sourceLine(ref: TagReference | undefined, namespace: string | undefined): string {
  if (!ref) return '  no spec tag';
  if (!ref.from) return '  tag without source image';
  const name = qualifiedFrom(ref.from, namespace);
  const scheduled = !!ref.importPolicy?.scheduled;
  switch (ref.from.kind) {
    case 'ImageStreamTag':
      if (ref.reference) return `  reference to ${name}`;
      return scheduled ? `  updates automatically from ${name}` : `  tagged from ${name}`;
    case 'DockerImage':
      if (ref.reference) return `  reference to registry ${name}`;
      return scheduled ? `  updates automatically from registry ${name}` : `  tagged from ${name}`;
    case 'ImageStreamImage':
      return ref.reference ? `  reference to image ${name}` : `  tagged from ${name}`;
    default:
      return ref.reference
        ? `  reference to ${ref.from.kind} ${name}`
        : `  updates from ${ref.from.kind} ${name}`;
  }
}

export interface DescribeOptions {
  now?: number;
  /** The whole history's length per tag, where the stream view shows only its newest events. */
  historyTotals?: Map<string, number>;
}

/** `oc describe is`: the stream's metadata, then each tag with its source, failures and history. */
export function describeImageStream(is: ImageStream, opts: DescribeOptions = {}): string {
  const lines = [
    ...metaFields(is.metadata, opts.now),
    field(
      'Image Repository',
      is.status?.publicDockerImageRepository || is.status?.dockerImageRepository || '',
    ),
    field('Image Lookup', `local=${is.spec.lookupPolicy?.local ? 'true' : 'false'}`),
    ...describeTags(is, opts),
  ];
  return tabbed(lines.join('\n'));
}

function describeTags(is: ImageStream, opts: DescribeOptions): string[] {
  const statusTags = is.status?.tags ?? [];
  const specTags = is.spec.tags ?? [];
  if (statusTags.length === 0 && specTags.length === 0) return ['Tags:\t<none>'];
  const now = opts.now;
  const images = new Set<string>();
  for (const t of statusTags)
    for (const item of t.items ?? []) {
      const key = item.image || item.dockerImageReference;
      if (key) images.add(key);
    }

  const status = new Map(statusTags.map((t) => [t.tag, t]));
  const spec = new Map(specTags.map((t) => [t.name, t]));
  const all = [
    ...statusTags.map((t) => t.tag),
    ...specTags.filter((t) => !status.has(t.name)).map((t) => t.name),
  ];
  // Aliases (tags following another tag of this stream) are listed next to the tag they end at.
  const aliases = new Map<string, string[]>();
  for (const t of specTags) {
    const { target, alias } = followTagReference(is, t.name);
    if (alias) aliases.set(target, [...(aliases.get(target) ?? []), t.name]);
  }
  const isAlias = new Set([...aliases.values()].flat());

  const out = [`Unique Images:\t${images.size}`, `Tags:\t${all.length}`, ''];
  let first = true;
  for (const tag of prioritizeTags(all)) {
    if (isAlias.has(tag)) continue;
    if (!first) out.push('');
    first = false;
    const list = status.get(tag);
    const ref = spec.get(tag);
    const refs = aliases.get(tag);
    out.push(refs?.length ? `${tag} (${prioritizeTags(refs).join(', ')})` : tag);
    out.push(sourceLine(ref, is.metadata.namespace));
    if (ref?.from && ref.importPolicy?.insecure) out.push('    will use insecure HTTPS or HTTP connections');
    if (ref?.referencePolicy?.type === 'Local')
      out.push('    prefer registry pullthrough when referencing this tag');
    out.push('');

    const extra: string[] = [];
    const ann = ref?.annotations ?? {};
    if (ann.description) extra.push(`  ${ann.description}`);
    if (ann.tags) extra.push(`  Tags: ${ann.tags.split(',').join(', ')}`);
    if (ann.supports) extra.push(`  Supports: ${ann.supports.split(',').join(', ')}`);
    if (ann.sampleRepo) extra.push(`  Example Repo: ${ann.sampleRepo}`);
    if (extra.length) out.push(...extra, '');

    const importing =
      !!ref?.from && !ref.reference && ref.generation != null && ref.generation > observedGeneration(list);
    if (importing) out.push('  ~ importing latest image ...');

    for (const c of list?.conditions ?? [])
      if (c.type === 'ImportSuccess' && c.status === 'False')
        out.push(
          `  ! error: Import failed (${c.reason ?? ''}): ${c.message ?? ''}`,
          `      ${ago(c.lastTransitionTime, now)}`,
        );

    const items = list?.items ?? [];
    items.forEach((ev, i) => {
      out.push(`${i === 0 ? '  * ' : '    '}${ev.dockerImageReference}`);
      const id = ev.image;
      out.push(
        id && referenceId(ev.dockerImageReference) !== id
          ? `      ${ago(ev.created, now)}\t${id}`
          : `      ${ago(ev.created, now)}`,
      );
    });
    const total = opts.historyTotals?.get(tag);
    if (total !== undefined && total > items.length)
      out.push(
        `    ... ${total - items.length} older (isctl history ${is.metadata.name}:${tag} shows all ${total})`,
      );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// oc describe istag / isimage (DescribeImage)

interface DockerImageMetadata {
  Created?: string;
  Author?: string;
  Architecture?: string;
  Size?: number;
  Config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
    Labels?: Record<string, string> | null;
    Env?: string[] | null;
    Volumes?: Record<string, unknown> | null;
  } | null;
}

/** docker/go-units `HumanSize`: decimal units, four significant digits (`1.234kB`, `100B`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < units.length - 1) {
    size /= 1000;
    i++;
  }
  return `${Number(size.toPrecision(4))}${units[i]}`;
}

/** `oc describe istag|isimage`: the image a tag or digest names. */
export function describeImage(image: Image, imageName: string | undefined, now?: number): string {
  const md = (image.dockerImageMetadata ?? {}) as DockerImageMetadata;
  const lines: string[] = [];
  if (imageName) lines.push(field('Image Name', imageName));
  lines.push(field('Docker Image', image.dockerImageReference), field('Name', image.metadata.name));
  if (image.metadata.creationTimestamp)
    lines.push(timeField('Created', image.metadata.creationTimestamp, now));
  if (Object.keys(image.metadata.labels ?? {}).length) lines.push(mapField('Labels', image.metadata.labels));
  if (Object.keys(image.metadata.annotations ?? {}).length)
    lines.push(...annotationFields(image.metadata.annotations));
  const layers = image.dockerImageLayers ?? [];
  if (layers.length === 0) {
    lines.push(field('Layer Size', humanSize(md.Size ?? 0)));
  } else {
    lines.push(field('Image Size', `${humanSize(md.Size ?? 0)} in ${layers.length} layers`));
    lines.push(field('Layers', layers.map((l) => `${humanSize(l.size)}\t${l.name}`).join('\n')));
  }
  lines.push(field('Image Created', md.Created ? ago(md.Created, now) : ''));
  lines.push(field('Author', md.Author), field('Arch', md.Architecture));
  const manifests = image.dockerImageManifests ?? [];
  if (manifests.length)
    lines.push(field('Manifests', manifests.map((m) => `${m.os}/${m.architecture}\t${m.digest}`).join('\n')));
  const cfg = md.Config ?? {};
  const hasEntrypoint = !!cfg.Entrypoint?.length;
  const hasCmd = !!cfg.Cmd?.length;
  if (hasEntrypoint) lines.push(field('Entrypoint', cfg.Entrypoint!.join(' ')));
  if (hasCmd) lines.push(field('Command', cfg.Cmd!.join(' ')));
  if (!hasEntrypoint && !hasCmd) lines.push(field('Command', ''));
  lines.push(field('Working Dir', cfg.WorkingDir), field('User', cfg.User));
  lines.push(
    field(
      'Exposes Ports',
      Object.keys(cfg.ExposedPorts ?? {})
        .sort()
        .join(', '),
    ),
  );
  lines.push(mapField('Docker Labels', cfg.Labels));
  (cfg.Env ?? []).forEach((e, i) => {
    lines.push(i === 0 ? field('Environment', e) : `\t${e}`);
  });
  Object.keys(cfg.Volumes ?? {})
    .sort()
    .forEach((v, i) => {
      lines.push(i === 0 ? field('Volumes', v) : `\t${v}`);
    });
  return tabbed(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------------------------
// isctl history

export const HISTORY_HEADERS = ['', '#', 'IMAGE', 'PULL SPEC', 'CREATED', 'BY', 'GENERATION'];

/**
 * A tag's timeline, newest first: numbered from the oldest (1) up, the current entry (the newest: what the tag
 * points at) marked with `*`.
 */
export function historyTable(items: TagHistoryEntry[], total: number, now?: number): string {
  return table(
    HISTORY_HEADERS,
    items.map((e, i) => [
      i === 0 ? '*' : '',
      String(total - i),
      e.image ? shortDigest(e.image) : NONE,
      e.dockerImageReference,
      `${e.created} (${ago(e.created, now)})`,
      e.by || NONE,
      String(e.generation),
    ]),
  );
}
