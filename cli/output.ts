import { stringify } from 'yaml';
import { UsageError } from './errors';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

export function parseOutput(raw: string | undefined): OutputFormat {
  if (raw === undefined || raw === '') return 'table';
  if (['wide', 'json', 'yaml', 'name'].includes(raw)) return raw as OutputFormat;
  throw new UsageError(
    `unable to match a printer suitable for the output format "${raw}", allowed formats are: json,name,wide,yaml`,
  );
}

/** Columns separated by three spaces, headers in capitals, as kubectl prints them. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** An object or a list of objects as JSON or YAML (lists as a `List`, as kubectl does). */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 4) : stringify(value).trimEnd();
}

/** `kind.group/name`, as `-o name` prints it. */
export function qualifiedName(resource: string, name: string): string {
  return `${resource}/${name}`;
}

/** "5 minutes ago": oc's UPDATED column (functions/core/printers.ts, shared with the server's Tables). */
export { ago } from '../functions/core/printers';

/** A short digest for tables: `sha256:0123456789ab`. */
export function shortDigest(d: string | undefined): string {
  if (!d) return '';
  const [alg, hex] = d.split(':');
  return hex ? `${alg}:${hex.slice(0, 12)}` : d;
}
