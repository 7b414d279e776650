import type { TagRecord } from '../core/imagestream/model';
import { keys } from '../store/keys';
import { itemToTag } from '../store/stream-store';
import { type ImportJob, importNeededByChange } from './import-jobs';

/** One table change as the stream delivers it, images already unmarshalled. */
export interface TableChange {
  keys: { PK?: unknown; SK?: unknown };
  oldImage?: Record<string, unknown> | undefined;
  newImage?: Record<string, unknown> | undefined;
}

/** Where import jobs go: an SQS queue in AWS, the in-process runner locally. */
export interface ImportJobSink {
  enqueue(jobs: ImportJob[], delayMs?: number): Promise<void>;
}

/**
 * The import controller's trigger (reference §6.1) over the table's stream: a tag record whose change makes it
 * need an import (new DockerImage tag, changed source, generation 0, new stream) yields a job, grouped per stream.
 * Only tag records are read: other records (secrets among them) are never looked at.
 */
export function importJobsFor(changes: TableChange[]): ImportJob[] {
  const jobs = new Map<string, ImportJob>();
  for (const c of changes) {
    const sk = c.keys.SK;
    const pk = c.keys.PK;
    if (typeof sk !== 'string' || !sk.startsWith(keys.tagPrefix) || typeof pk !== 'string') continue;
    if (!pk.startsWith('IS#')) continue;
    const after = c.newImage ? itemToTag(c.newImage) : undefined;
    const before = c.oldImage ? itemToTag(c.oldImage) : undefined;
    // A record of another stream incarnation (re-created stream) is a different tag altogether.
    const sameTag = before && after && c.oldImage?.suid === c.newImage?.suid;
    if (!importNeededByChange(sameTag ? (before as TagRecord) : undefined, after)) continue;
    const uid = c.newImage?.suid as string;
    const [namespace, ...rest] = pk.slice(3).split('/');
    const name = rest.join('/');
    const key = `${pk}|${uid}`;
    const job = jobs.get(key) ?? { namespace: namespace!, name, uid, tags: [] };
    if (!job.tags.includes(after!.name)) job.tags.push(after!.name);
    jobs.set(key, job);
  }
  return [...jobs.values()];
}
