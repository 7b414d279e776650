import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CliError, UsageError } from '../errors';

/**
 * Reading `-f` arguments: files, directories (their *.yaml, *.yml and *.json, in name order) and `-` (stdin),
 * multi-document YAML, JSON, and `kind: List` (or any `…List` with `items`) flattened into its objects.
 *
 * YAML is read with YAML 1.1 rules, as kubectl reads it (go-yaml v2): `yes`/`on` are booleans, `0755` is octal,
 * but timestamps stay strings. Parse errors name the source, line and column and never quote the text around
 * them: a manifest may be a Secret.
 */

export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

export interface ObjectMeta {
  name?: unknown;
  namespace?: unknown;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  [key: string]: unknown;
}

/** One object from a manifest, with where it came from (for messages). */
export interface Manifest {
  /** The file path, or `STDIN`. */
  source: string;
  object: KubeObject;
}

export interface Source {
  source: string;
  text: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The files `-f` arguments name, read; `readStdin` is called at most once (for `-`). */
export async function readSources(
  paths: string[],
  recursive: boolean,
  readStdin: () => Promise<string>,
): Promise<Source[]> {
  if (paths.length === 0) throw new UsageError('must specify -f <file|directory|->');
  const out: Source[] = [];
  let stdinRead = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinRead) throw new UsageError('-f - (stdin) can be given only once');
      stdinRead = true;
      out.push({ source: 'STDIN', text: await readStdin() });
      continue;
    }
    if (!existsSync(p)) throw new CliError(`the path "${p}" does not exist`);
    if (statSync(p).isDirectory()) {
      const files = listManifestFiles(p, recursive);
      if (files.length === 0) throw new CliError(`the directory "${p}" holds no .yaml, .yml or .json files`);
      for (const f of files) out.push({ source: f, text: readText(f) });
    } else {
      out.push({ source: p, text: readText(p) });
    }
  }
  return out;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function listManifestFiles(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...listManifestFiles(path, true));
    } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/** YAML 1.1 as go-yaml v2 reads it, minus timestamps (Kubernetes keeps them as strings). */
const YAML_OPTIONS = {
  version: '1.1' as const,
  uniqueKeys: true,
  customTags: (tags: Array<{ tag: string } | string>) =>
    tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
};

/** The objects of one source, Lists flattened; throws a {@link CliError} naming the line of a syntax error. */
export function parseSource(src: Source): Manifest[] {
  const values: unknown[] = [];
  const trimmed = src.text.trimStart();
  let json: unknown;
  let isJson = false;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      json = JSON.parse(src.text);
      isJson = true;
    } catch {
      // Fall through: the YAML parser reports where the text goes wrong (JSON.parse's messages quote it).
    }
  }
  if (isJson) {
    values.push(json);
  } else {
    for (const doc of parseAllDocuments(src.text, YAML_OPTIONS as never)) {
      const err = doc.errors[0];
      if (err) {
        const at = err.linePos?.[0];
        const what = err.message.replace(/ at line \d+, column \d+[\s\S]*$/, '');
        throw new CliError(
          `error parsing ${src.source}: ${at ? `line ${at.line}, column ${at.col}: ` : ''}${what}`,
        );
      }
      values.push(doc.toJS({ maxAliasCount: 100 }));
    }
  }
  const out: Manifest[] = [];
  for (const [i, v] of values.entries())
    flatten(v, `${src.source}${values.length > 1 ? ` (document ${i + 1})` : ''}`, src.source, out);
  return out;
}

function flatten(value: unknown, where: string, source: string, out: Manifest[]): void {
  if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) flatten(v, `${where} item ${i + 1}`, source, out);
    return;
  }
  if (typeof value !== 'object')
    throw new CliError(`error parsing ${where}: a manifest must be an object with apiVersion and kind`);
  const obj = value as KubeObject;
  if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && 'items' in obj) {
    if (!Array.isArray(obj.items))
      throw new CliError(`error parsing ${where}: ${obj.kind}.items must be a list`);
    for (const [i, v] of obj.items.entries()) flatten(v, `${where} item ${i + 1}`, source, out);
    return;
  }
  out.push({ source, object: obj });
}
