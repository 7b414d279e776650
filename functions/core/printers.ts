import type {
  ImageStream,
  ImageStreamImage,
  ImageStreamTag,
  NamedTagEventList,
  ObjectReference,
  TagReference,
} from './api-types';

/**
 * The columns oc and kubectl print for this API's objects, as pure functions of the objects and the time: the server
 * answers them as meta.k8s.io Tables (functions/http/table.ts) and isctl prints them (cli/format), so both show the
 * same cells. Image streams, tags and images follow OpenShift's table printers (openshift-apiserver
 * `pkg/image/printers`); secrets and role bindings kubectl's (`pkg/printers/internalversion`); projects oc's.
 */

/** "5 minutes ago", "2 hours ago": how oc shows the UPDATED column. */
export function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  const unit = (n: number, u: string) => `${n} ${u}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86_400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86_400), 'day');
}

/** kubectl's AGE (apimachinery `duration.HumanDuration`): `42s`, `3m12s`, `15m`, `5h3m`, `20h`, `3d4h`, `12d`, `2y30d`. */
export function humanAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '<unknown>';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '<unknown>';
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 ? `${minutes}m${seconds % 60}s` : `${minutes}m`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 ? `${hours}h${minutes % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 ? `${years}y${days % 365}d` : `${years}y`;
  return `${years}y`;
}

export const NONE = '<none>';
export const orNone = (s: string | undefined | null) => (s ? s : NONE);
export const created = (l: NamedTagEventList) => l.items?.[0]?.created;
export const time = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);

// ---------------------------------------------------------------------------------------------------------------
// oc get is

/** The repository `oc get is` shows: the public one when there is one, else the spec's (deprecated), else status. */
export function listedRepository(is: ImageStream): string {
  return (
    is.status?.publicDockerImageRepository ||
    is.spec.dockerImageRepository ||
    is.status?.dockerImageRepository ||
    ''
  );
}

/** Status tags, most recently updated first (`SortStatusTags`); tags without events last; ties by name. */
export function tagsByUpdate(tags: NamedTagEventList[]): string[] {
  return [...tags]
    .sort((a, b) => {
      const ta = time(created(a));
      const tb = time(created(b));
      const ha = Number.isFinite(ta);
      const hb = Number.isFinite(tb);
      if (ha !== hb) return ha ? -1 : 1;
      if (ha && ta !== tb) return tb - ta;
      return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
    })
    .map((t) => t.tag);
}

/**
 * The TAGS cell (`printTagsUpToWidth`): as many tags as fit in about `preferredWidth` characters, at least one,
 * running over by up to a quarter when that evens the edges; the rest as ` + N more...`.
 */
export function tagsUpToWidth(statusTags: NamedTagEventList[], preferredWidth = 40): string {
  let tags = tagsByUpdate(statusTags);
  let remaining = preferredWidth;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    remaining -= tag.length + 1;
    if (remaining >= 0) continue;
    if (i === 0) {
      tags = tags.slice(0, 1);
      break;
    }
    const margin = Math.trunc(preferredWidth / 4);
    if (margin < remaining + tag.length && margin >= -remaining) continue;
    tags = tags.slice(0, i);
    break;
  }
  const hidden = statusTags.length - tags.length;
  return hidden > 0 ? `${tags.join(',')} + ${hidden} more...` : tags.join(',');
}

/** The newest first event over all tags: the UPDATED column. */
export function lastUpdated(is: ImageStream): string | undefined {
  let latest: string | undefined;
  for (const l of is.status?.tags ?? []) {
    const c = created(l);
    if (c && (!latest || time(c) > time(latest))) latest = c;
  }
  return latest;
}

export function imageStreamRow(
  is: ImageStream,
  opts: { wide?: boolean; name?: string; now?: number },
): string[] {
  const tags = is.status?.tags ?? [];
  return [
    opts.name ?? is.metadata.name ?? '',
    listedRepository(is),
    opts.wide ? tagsByUpdate(tags).join(',') : tagsUpToWidth(tags),
    ago(lastUpdated(is), opts.now),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// oc get istag / isimage

/** Where a spec tag takes its image from, with its kind: `DockerImage quay.io/x/y:1`, `ImageStreamTag ns/is:t`. */
export function tagSource(tag: TagReference | null | undefined, namespace?: string): string {
  const from = tag?.from;
  if (!from?.name) return NONE;
  return `${from.kind ?? 'DockerImage'} ${qualifiedFrom(from, namespace)}`;
}

export function qualifiedFrom(from: ObjectReference, namespace?: string): string {
  return from.namespace && from.namespace !== namespace
    ? `${from.namespace}/${from.name}`
    : (from.name ?? '');
}

export function imageStreamTagRow(
  ist: ImageStreamTag,
  opts: { wide?: boolean; name?: string; now?: number },
): string[] {
  const row = [
    opts.name ?? ist.metadata.name ?? '',
    ist.image?.dockerImageReference ?? '',
    ago(ist.metadata.creationTimestamp ?? undefined, opts.now),
  ];
  if (opts.wide) row.push(orNone(ist.image?.metadata?.name), tagSource(ist.tag, ist.metadata.namespace));
  return row;
}

export function imageStreamImageRow(
  isi: ImageStreamImage,
  opts: { wide?: boolean; name?: string; now?: number },
): string[] {
  const row = [
    opts.name ?? isi.metadata.name ?? '',
    isi.image?.dockerImageReference ?? '',
    ago(isi.metadata.creationTimestamp ?? undefined, opts.now),
  ];
  if (opts.wide) row.push(orNone(isi.image?.metadata?.name));
  return row;
}

// ---------------------------------------------------------------------------------------------------------------
// meta.k8s.io Table columns

/** A Table column as kube-apiserver defines it; kubectl prints `name` in capitals, `priority` > 0 only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** The columns of one resource and the cells of one of its objects (in column order). */
export interface TablePrinter {
  columns: TableColumn[];
  cells(object: unknown, now: number): Array<string | number>;
}

const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};
const column = (name: string, description: string, priority = 0, type: TableColumn['type'] = 'string') => ({
  name,
  type,
  format: '',
  description,
  priority,
});
const AGE = column(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);

/** The objects' parts the printers read; the server's views have them. */
interface Named {
  metadata?: { name?: string; creationTimestamp?: string | null; annotations?: Record<string, string> };
}

const imageStreamPrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Image Repository', 'The repository the stream is pulled from.'),
    column('Tags', 'The status tags, most recently updated first.'),
    column('Updated', 'When a tag last pointed at a new image.'),
  ],
  cells: (o, now) => imageStreamRow(o as ImageStream, { now }),
};

const imageStreamTagPrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Image Reference', 'The pull spec of the image the tag points at.'),
    column('Updated', 'When the tag last pointed at a new image.'),
    column('Image', 'The image (digest) the tag points at.', 1),
    column('Source', 'Where the spec tag takes its image from.', 1),
  ],
  cells: (o, now) => imageStreamTagRow(o as ImageStreamTag, { wide: true, now }),
};

const imageStreamImagePrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Image Reference', 'The pull spec of the image.'),
    column('Created', 'When the image was created.'),
    column('Image', 'The image (digest).', 1),
  ],
  cells: (o, now) => imageStreamImageRow(o as ImageStreamImage, { wide: true, now }),
};

/** kubectl's secret columns; DATA counts the keys the secret holds (this API never returns their values). */
const secretPrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Type', 'The type of the secret.'),
    column('Data', 'The number of keys the secret holds.', 0, 'integer'),
    AGE,
  ],
  cells: (o, now) => {
    const s = o as Named & { type?: string; data?: Record<string, string> };
    // Registry secrets hold exactly their one Docker config key, which is never returned.
    const keys = s.data ? Object.keys(s.data).length : s.type?.startsWith('kubernetes.io/docker') ? 1 : 0;
    return [s.metadata?.name ?? '', s.type ?? '', keys, humanAge(s.metadata?.creationTimestamp, now)];
  },
};

/** kubectl's role binding columns: ROLE is `<kind>/<name>`; USERS, GROUPS, SERVICEACCOUNTS with `-o wide`. */
const roleBindingPrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Role', 'The role the binding grants.'),
    AGE,
    column('Users', 'The users the role is granted to.', 1),
    column('Groups', 'The groups the role is granted to.', 1),
    column('ServiceAccounts', 'The service accounts the role is granted to.', 1),
  ],
  cells: (o, now) => {
    const b = o as Named & {
      roleRef?: { kind?: string; name?: string };
      subjects?: Array<{ kind?: string; name?: string; namespace?: string }>;
    };
    const of = (kind: string) =>
      (b.subjects ?? [])
        .filter((s) => s.kind === kind)
        .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : (s.name ?? '')))
        .join(', ');
    return [
      b.metadata?.name ?? '',
      `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`,
      humanAge(b.metadata?.creationTimestamp, now),
      of('User'),
      of('Group'),
      of('ServiceAccount'),
    ];
  },
};

/** oc's project columns: the display name annotation, and the phase. */
const projectPrinter: TablePrinter = {
  columns: [
    NAME_COLUMN,
    column('Display Name', 'The project’s openshift.io/display-name annotation.'),
    column('Status', 'The project’s phase: Active or Terminating.'),
  ],
  cells: (o) => {
    const p = o as Named & { status?: { phase?: string } };
    return [
      p.metadata?.name ?? '',
      p.metadata?.annotations?.['openshift.io/display-name'] ?? '',
      p.status?.phase ?? '',
    ];
  },
};

/** kube-apiserver's columns for resources without a printer of their own: the name and the creation time. */
export const DEFAULT_PRINTER: TablePrinter = {
  columns: [
    NAME_COLUMN,
    {
      name: 'Created At',
      type: 'date',
      format: '',
      description:
        'CreationTimestamp is a timestamp representing the server time when this object was created.',
      priority: 0,
    },
  ],
  cells: (o) => {
    const n = o as Named;
    return [n.metadata?.name ?? '', n.metadata?.creationTimestamp ?? ''];
  },
};

/** The printer of each resource (by its plural, as routes name it). */
export const TABLE_PRINTERS: Readonly<Record<string, TablePrinter>> = {
  imagestreams: imageStreamPrinter,
  imagestreamtags: imageStreamTagPrinter,
  imagestreamimages: imageStreamImagePrinter,
  secrets: secretPrinter,
  rolebindings: roleBindingPrinter,
  projects: projectPrinter,
};

/** A printer's column names as kubectl and isctl print them (capitals); `wide` adds the columns of priority 1. */
export const headersOf = (p: TablePrinter, wide = false) =>
  p.columns.filter((c) => wide || c.priority === 0).map((c) => c.name.toUpperCase());

export const IMAGESTREAM_HEADERS = headersOf(imageStreamPrinter);
export const IMAGESTREAMTAG_HEADERS = headersOf(imageStreamTagPrinter);
export const IMAGESTREAMTAG_WIDE_HEADERS = headersOf(imageStreamTagPrinter, true);
export const IMAGESTREAMIMAGE_HEADERS = headersOf(imageStreamImagePrinter);
export const IMAGESTREAMIMAGE_WIDE_HEADERS = headersOf(imageStreamImagePrinter, true);
