import type { Command } from 'commander';
import type {
  ImageStream,
  ImageStreamImage,
  ImageStreamTag,
  ImageStreamTagHistory,
  TagHistoryEntry,
} from '../../functions/core/api-types';
import type { ApiClient } from '../client';
import { CliError, ServerError, UsageError } from '../errors';
import {
  describeImage,
  describeImageStream,
  HISTORY_HEADERS,
  historyTable,
  IMAGESTREAM_HEADERS,
  IMAGESTREAMIMAGE_HEADERS,
  IMAGESTREAMIMAGE_WIDE_HEADERS,
  IMAGESTREAMTAG_HEADERS,
  IMAGESTREAMTAG_WIDE_HEADERS,
  imageStreamImageRow,
  imageStreamRow,
  imageStreamTagRow,
} from '../format/imagestreams';
import { renderJsonPath } from '../jsonpath';
import { type OutputFormat, parseOutput, serialize, table } from '../output';
import { paths } from '../paths';
import { type Io, runtimeFor } from '../runtime';

/** The resource types isctl reads, with the names `oc` accepts for them. */
interface Kind {
  key: 'is' | 'istag' | 'isimage';
  names: string[];
  /** `imagestream.image.openshift.io`, as `-o name` and multi-type tables print it. */
  qualified: string;
  listKind?: string;
}

const GROUP = 'image.openshift.io';
const KINDS: Kind[] = [
  {
    key: 'is',
    names: ['is', 'imagestream', 'imagestreams'],
    qualified: `imagestream.${GROUP}`,
    listKind: 'ImageStreamList',
  },
  {
    key: 'istag',
    names: ['istag', 'imagestreamtag', 'imagestreamtags'],
    qualified: `imagestreamtag.${GROUP}`,
    listKind: 'ImageStreamTagList',
  },
  {
    key: 'isimage',
    names: ['isimage', 'imagestreamimage', 'imagestreamimages'],
    qualified: `imagestreamimage.${GROUP}`,
  },
];

/** Entries of a tag's history one `history` run reads at most (pages × chunk size). */
const MAX_HISTORY_PAGES = 1000;
/** The newest events per tag a stream view carries (the server's RECENT_EVENTS_KEPT). */
const STREAM_VIEW_EVENTS = 10;

function kindFor(word: string): Kind {
  const w = word.toLowerCase();
  const kind = KINDS.find((k) => k.names.some((n) => w === n || w === `${n}.${GROUP}`));
  if (!kind)
    throw new UsageError(
      `the server doesn't have a resource type "${word}" (isctl reads is|imagestream, istag|imagestreamtag, isimage|imagestreamimage)`,
    );
  return kind;
}

interface Request {
  kind: Kind;
  name?: string;
}

/** `TYPE[,TYPE…] [NAME…]` or `TYPE/NAME…`, as kubectl takes them. */
function parseRequests(type: string, names: string[]): Request[] {
  if (type.includes('/')) {
    return [type, ...names].map((arg) => {
      const at = arg.indexOf('/');
      if (at <= 0 || at === arg.length - 1)
        throw new UsageError(
          `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'isctl get is/ruby istag/ruby:latest'); "${arg}" is not TYPE/NAME`,
        );
      return checked({ kind: kindFor(arg.slice(0, at)), name: arg.slice(at + 1) });
    });
  }
  const kinds = type.split(',').map((t) => kindFor(t.trim()));
  if (names.length === 0) {
    if (kinds.some((k) => k.key === 'isimage'))
      throw new UsageError(
        'image stream images cannot be listed; name one: <stream>@<digest> (isctl describe is <stream> shows the digests)',
      );
    return kinds.map((kind) => ({ kind }));
  }
  return kinds.flatMap((kind) => names.map((name) => checked({ kind, name })));
}

/** Names the server would refuse anyway, refused here with what to type instead. */
function checked(r: Request): Request {
  const name = r.name ?? '';
  if (r.kind.key === 'istag') {
    const parts = name.split(':');
    if (parts.length !== 2 || !parts[0] || !parts[1] || name.includes('@'))
      throw new UsageError(
        `expected exactly one : delimiter in the istag "${name}": image stream tags are named <stream>:<tag>, e.g. ruby:latest`,
      );
  }
  if (r.kind.key === 'isimage') {
    const parts = name.split('@');
    if (parts.length !== 2 || !parts[0] || !parts[1])
      throw new UsageError(
        `expected exactly one @ delimiter in the isimage "${name}": image stream images are named <stream>@<digest>, e.g. ruby@sha256:0123abcd`,
      );
  }
  if (r.kind.key === 'is' && (name.includes(':') || name.includes('@')))
    throw new UsageError(
      `"${name}" is not an image stream name; for a tag use 'istag ${name}'${name.includes('@') ? `, for an image 'isimage ${name}'` : ''}`,
    );
  return r;
}

function chunkSize(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 500)
    throw new UsageError(`--chunk-size must be an integer from 1 to 500, not "${raw}"`);
  return n;
}

type AnyObject = ImageStream | ImageStreamTag | ImageStreamImage;

interface Found {
  kind: Kind;
  object: AnyObject;
}

/** Reads what the requests name; a missing or forbidden object is an error to report, the rest are still shown. */
async function fetchAll(
  client: ApiClient,
  ns: string,
  requests: Request[],
  opts: { selector?: string; chunk: number; streamHistory?: number },
): Promise<{ found: Found[]; errors: ServerError[] }> {
  const found: Found[] = [];
  const errors: ServerError[] = [];
  const query = (kind: Kind, listed: boolean) => {
    const q = new URLSearchParams();
    if (listed && opts.selector) q.set('labelSelector', opts.selector);
    if (kind.key === 'is' && opts.streamHistory !== undefined)
      q.set('historyLimit', String(opts.streamHistory));
    const s = q.toString();
    return s ? `?${s}` : '';
  };
  for (const r of requests) {
    try {
      if (r.name === undefined) {
        const path = r.kind.key === 'is' ? paths.imagestreams(ns) : paths.imagestreamtags(ns);
        const items = await client.listAll<AnyObject>(path + query(r.kind, true), opts.chunk);
        for (const object of items) found.push({ kind: r.kind, object });
      } else {
        const path =
          r.kind.key === 'is'
            ? paths.imagestreams(ns, r.name)
            : r.kind.key === 'istag'
              ? paths.imagestreamtags(ns, r.name)
              : paths.imagestreamimages(ns, r.name);
        found.push({ kind: r.kind, object: await client.get<AnyObject>(path + query(r.kind, false)) });
      }
    } catch (e) {
      if (!(e instanceof ServerError)) throw e;
      errors.push(e);
    }
  }
  return { found, errors };
}

/** Fails with every server error (each `Error from server …`) once the rest has been printed. */
function failWith(errors: ServerError[]): void {
  if (errors.length) throw new CliError(errors.map((e) => e.message).join('\n'));
}

function noResources(io: Io, ns: string): void {
  io.err(`No resources found in ${ns} namespace.`);
}

function rowsFor(f: Found, wide: boolean, name: string | undefined): string[] {
  const opts = { wide, ...(name !== undefined ? { name } : {}) };
  switch (f.kind.key) {
    case 'is':
      return imageStreamRow(f.object as ImageStream, opts);
    case 'istag':
      return imageStreamTagRow(f.object as ImageStreamTag, opts);
    case 'isimage':
      return imageStreamImageRow(f.object as ImageStreamImage, opts);
  }
}

function headersFor(kind: Kind, wide: boolean): string[] {
  switch (kind.key) {
    case 'is':
      return IMAGESTREAM_HEADERS;
    case 'istag':
      return wide ? IMAGESTREAMTAG_WIDE_HEADERS : IMAGESTREAMTAG_HEADERS;
    case 'isimage':
      return wide ? IMAGESTREAMIMAGE_WIDE_HEADERS : IMAGESTREAMIMAGE_HEADERS;
  }
}

/** What `-o json|yaml|jsonpath` prints: the one object asked for by name, else a list of what was found. */
function outputValue(requests: Request[], found: Found[]): unknown {
  const first = requests[0]!;
  if (requests.length === 1 && first.name !== undefined) return found[0]?.object;
  const items = found.map((f) => f.object);
  return requests.length === 1 && first.kind.listKind
    ? { kind: first.kind.listKind, apiVersion: `${GROUP}/v1`, metadata: {}, items }
    : { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '' }, items };
}

function printFound(
  io: Io,
  format: OutputFormat,
  requests: Request[],
  found: Found[],
  jsonpath?: string,
): void {
  const kinds = [...new Set(requests.map((r) => r.kind))];
  if (jsonpath !== undefined) {
    const value = outputValue(requests, found);
    if (value !== undefined) io.out(renderJsonPath(jsonpath, value));
    return;
  }
  if (format === 'json' || format === 'yaml') {
    const value = outputValue(requests, found);
    if (value !== undefined) io.out(serialize(value, format));
    return;
  }
  if (format === 'name') {
    if (found.length) io.out(found.map((f) => `${f.kind.qualified}/${f.object.metadata.name}`).join('\n'));
    return;
  }
  const wide = format === 'wide';
  const tables: string[] = [];
  for (const kind of kinds) {
    const mine = found.filter((f) => f.kind === kind);
    if (mine.length === 0) continue;
    const rows = mine.map((f) =>
      rowsFor(f, wide, kinds.length > 1 ? `${kind.qualified}/${f.object.metadata.name}` : undefined),
    );
    tables.push(table(headersFor(kind, wide), rows));
  }
  if (tables.length) io.out(tables.join('\n\n'));
}

/** How often `get -w` reads again; the API's watch will replace polling. */
const WATCH_INTERVAL_MS = Number(process.env.ISCTL_WATCH_INTERVAL_MS ?? 2_000);
/** For scripts and tests: stop watching after this long (default: until interrupted). */
const WATCH_FOR_MS = Number(process.env.ISCTL_WATCH_FOR_MS ?? Number.POSITIVE_INFINITY);

/**
 * `get -w`, as kubectl prints a watch: after the table, one line (no header) for each object that is new or whose
 * line changed, and for each that went away. This reads the list again every {@link WATCH_INTERVAL_MS}, so changes
 * in between fold into one line.
 */
async function watch(
  io: Io,
  format: OutputFormat,
  requests: Request[],
  first: Found[],
  fetch: () => Promise<{ found: Found[]; errors: unknown[] }>,
): Promise<void> {
  const kinds = [...new Set(requests.map((r) => r.kind))];
  const wide = format === 'wide';
  const keyOf = (f: Found) =>
    `${f.kind.qualified}/${f.object.metadata.namespace ?? ''}/${f.object.metadata.name}`;
  const lineOf = (f: Found) => {
    if (format === 'name') return `${f.kind.qualified}/${f.object.metadata.name}`;
    const row = rowsFor(
      f,
      wide,
      kinds.length > 1 ? `${f.kind.qualified}/${f.object.metadata.name}` : undefined,
    );
    return table(headersFor(f.kind, wide), [row]).split('\n')[1]!;
  };
  // Whether an object changed: its content, not its line (relative times in a line change by themselves).
  const contentOf = (f: Found) => JSON.stringify(f.object);
  let seen = new Map(first.map((f) => [keyOf(f), { line: lineOf(f), content: contentOf(f) }]));
  const until = Date.now() + WATCH_FOR_MS;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(WATCH_INTERVAL_MS, Math.max(0, until - Date.now()))));
    if (Date.now() >= until) break;
    const { found } = await fetch();
    const now = new Map(found.map((f) => [keyOf(f), { line: lineOf(f), content: contentOf(f) }]));
    for (const [key, entry] of now) if (seen.get(key)?.content !== entry.content) io.out(entry.line);
    for (const [key, entry] of seen) if (!now.has(key)) io.out(entry.line);
    seen = now;
  }
}

/** How many events a tag has in all, for the tags whose stream view may show only part of their history. */
async function historyTotals(client: ApiClient, is: ImageStream): Promise<Map<string, number>> {
  const ns = is.metadata.namespace ?? '';
  const long = (is.status?.tags ?? []).filter((t) => (t.items?.length ?? 0) >= STREAM_VIEW_EVENTS);
  const totals = new Map<string, number>();
  await Promise.all(
    long.map(async (t) => {
      try {
        const h = await client.get<ImageStreamTagHistory>(
          `${paths.tagHistory(ns, `${is.metadata.name}:${t.tag}`)}?limit=1`,
        );
        totals.set(t.tag, h.total);
      } catch (e) {
        // Only a hint that more exists; the description stands without it.
        if (!(e instanceof ServerError)) throw e;
      }
    }),
  );
  return totals;
}

const TYPES_HELP = `
Resource types:
  is, imagestream(s)            image streams (NAME: the stream)
  istag, imagestreamtag(s)      image stream tags (NAME: <stream>:<tag>)
  isimage, imagestreamimage(s)  images of a stream (NAME: <stream>@<digest>, or a unique prefix of the digest)`;

/** get, describe, history: reading image streams, their tags and images, and a tag's whole timeline. */
export function registerGetCommands(program: Command, io: Io): void {
  program
    .command('get')
    .description('Display image streams, image stream tags or image stream images (like oc get)')
    .argument('<type>', 'resource type (is, istag, isimage; several with commas), or TYPE/NAME')
    .argument('[names...]', 'names to show (default: all in the project)')
    .option('-o, --output <format>', 'wide|json|yaml|name|jsonpath=TEMPLATE')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--chunk-size <n>', 'read lists in pages of this many items (1-500)', '500')
    .option('-w, --watch', 'after the list, print each object again whenever it changes (until interrupted)')
    .addHelpText(
      'after',
      `${TYPES_HELP}

Examples:
  isctl get is                       # every stream: repository, tags (most recently updated first), last update
  isctl get is ruby -o yaml          # one stream as the server has it
  isctl get istag -o wide            # every tag with its image digest and where it comes from
  isctl get istag ruby:latest
  isctl get isimage ruby@sha256:0123abcd
  isctl get is,istag -l app=web`,
    )
    .action(
      async (
        type: string,
        names: string[],
        opts: { output?: string; selector?: string; chunkSize: string; watch?: boolean },
        cmd: Command,
      ) => {
        // kubectl's -o jsonpath=TEMPLATE: the objects as -o json fetches them, printed through the template.
        const jsonpath = /^jsonpath=/.test(opts.output ?? '')
          ? opts.output!.slice('jsonpath='.length)
          : undefined;
        const format = jsonpath !== undefined ? 'json' : parseOutput(opts.output);
        const chunk = chunkSize(opts.chunkSize);
        const requests = parseRequests(type, names);
        if (opts.selector && requests.some((r) => r.name !== undefined))
          throw new UsageError('a label selector (-l) cannot be combined with names; give one or the other');
        const rt = runtimeFor(cmd, io);
        const client = rt.client();
        const ns = rt.project();
        const { found, errors } = await fetchAll(client, ns, requests, {
          chunk,
          ...(opts.selector ? { selector: opts.selector } : {}),
          // Tables need each tag's newest event only; json and yaml show the stream as the server serves it.
          ...(format === 'json' || format === 'yaml' ? {} : { streamHistory: format === 'name' ? 0 : 1 }),
        });
        if (opts.watch && (jsonpath !== undefined || format === 'json' || format === 'yaml'))
          throw new UsageError(
            '--watch prints tables (and -o wide or -o name); it cannot be combined with -o json, yaml or jsonpath',
          );
        printFound(io, format, requests, found, jsonpath);
        if (opts.watch) {
          const fetch = () =>
            fetchAll(client, ns, requests, {
              chunk,
              ...(opts.selector ? { selector: opts.selector } : {}),
              streamHistory: format === 'name' ? 0 : 1,
            });
          return watch(io, format, requests, found, fetch);
        }
        const listed = requests.every((r) => r.name === undefined);
        if (listed && found.length === 0 && errors.length === 0 && format !== 'json' && format !== 'yaml')
          noResources(io, ns);
        failWith(errors);
      },
    );

  program
    .command('describe')
    .description('Show the details of image streams (every tag, its source, failures and history) or images')
    .argument('<type>', 'is|imagestream, istag|imagestreamtag, isimage|imagestreamimage, or TYPE/NAME')
    .argument('[names...]', 'names to describe (default: all in the project)')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web')
    .addHelpText(
      'after',
      `${TYPES_HELP}

Examples:
  isctl describe is ruby             # tags newest-first with their sources, import failures and history
  isctl describe istag ruby:latest   # the image the tag points at: size, layers, command, environment`,
    )
    .action(async (type: string, names: string[], opts: { selector?: string }, cmd: Command) => {
      const requests = parseRequests(type, names);
      if (opts.selector && requests.some((r) => r.name !== undefined))
        throw new UsageError('a label selector (-l) cannot be combined with names; give one or the other');
      const rt = runtimeFor(cmd, io);
      const client = rt.client();
      const ns = rt.project();
      const { found, errors } = await fetchAll(client, ns, requests, {
        chunk: 500,
        ...(opts.selector ? { selector: opts.selector } : {}),
      });
      const texts: string[] = [];
      for (const f of found) {
        if (f.kind.key === 'is') {
          const is = f.object as ImageStream;
          texts.push(describeImageStream(is, { historyTotals: await historyTotals(client, is) }));
        } else {
          const image = (f.object as ImageStreamTag | ImageStreamImage).image;
          texts.push(describeImage(image, image.metadata.name));
        }
      }
      if (texts.length) io.out(texts.join('\n\n\n'));
      if (requests.every((r) => r.name === undefined) && found.length === 0 && errors.length === 0)
        noResources(io, ns);
      failWith(errors);
    });

  program
    .command('history')
    .description(
      "Show a tag's whole history, newest first: every image it pointed at, when, and who moved it",
    )
    .argument('<stream:tag>', 'the tag, as <stream>:<tag>')
    .option('-o, --output <format>', 'json|yaml (default: a table)')
    .option('--chunk-size <n>', 'read the history in pages of this many entries (1-500)', '500')
    .addHelpText(
      'after',
      `
The stream itself (isctl get is -o yaml, isctl describe is) carries only each tag's newest ${STREAM_VIEW_EVENTS} events;
this reads every page of imagestreamtaghistories. * marks the current entry, the image the tag points at now;
# counts from the oldest entry (1).

Examples:
  isctl history ruby:latest
  isctl history ruby:latest -o yaml`,
    )
    .action(async (name: string, opts: { output?: string; chunkSize: string }, cmd: Command) => {
      const format = parseOutput(opts.output);
      if (format === 'wide' || format === 'name')
        throw new UsageError(`history prints a table, json or yaml; -o ${format} does not apply`);
      const chunk = chunkSize(opts.chunkSize);
      checked({ kind: kindFor('istag'), name });
      const rt = runtimeFor(cmd, io);
      const client = rt.client();
      const ns = rt.project();
      const path = paths.tagHistory(ns, name);
      let first: ImageStreamTagHistory | undefined;
      const items: TagHistoryEntry[] = [];
      let cont: string | undefined;
      for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
        const h = await client.get<ImageStreamTagHistory>(
          `${path}?limit=${chunk}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
        );
        first ??= h;
        items.push(...h.items);
        cont = h.metadata.continue;
        if (!cont) break;
      }
      if (cont)
        io.err(
          `warning: showing the newest ${items.length} of ${first?.total} entries (${MAX_HISTORY_PAGES} pages of ${chunk}); use a larger --chunk-size to see more`,
        );
      const total = first?.total ?? items.length;
      if (format === 'json' || format === 'yaml') {
        const { continue: _c, ...metadata } = first?.metadata ?? {};
        io.out(serialize({ ...first, metadata, total, items }, format));
        return;
      }
      io.out(items.length ? historyTable(items, total) : table(HISTORY_HEADERS, []));
    });
}
