import type { TagRecord } from '../core/imagestream/model';
import { scheduleEligible, schedulePlace, slotKey, trackedSource } from '../core/schedule/scheduling';
import { tableDefinition } from './table-definition';

/** Key builders for the single table; the layout is documented in table-definition.ts and docs/architecture.md. */
export const HEAD_SK = 'IS';
export const IMAGE_SK = 'IMG';
const STREAM_PK_PREFIX = 'IS#';

export const keys = {
  streamPk: (ns: string, name: string) => `${STREAM_PK_PREFIX}${ns}/${name}`,
  tagSk: (tag: string) => `T#${tag}`,
  tagPrefix: 'T#',
  historySk: (tid: string, seq: number) => `H#${tid}#${String(seq).padStart(10, '0')}`,
  historyPrefix: (tid: string) => `H#${tid}#`,
  refSk: (digest: string, tid: string) => `R#${digest}#${tid}`,
  refPrefix: (digestPrefix: string) => `R#${digestPrefix}`,
  imagePk: (digest: string) => `IMG#${digest}`,
  /** What one project knows about an image: one partition per project, so its deletion finds them with a Query. */
  projectImagePk: (ns: string) => `NSIMG#${ns}`,
  projectImageSk: (digest: string) => digest,
  /** A manifest the project pulled through a stream, in chunks below the item size limit (same partition). */
  projectManifestSk: (digest: string, chunk: number) => `M#${digest}#${String(chunk).padStart(2, '0')}`,
  projectManifestPrefix: (digest: string) => `M#${digest}#`,
  /** Which of the project's stored manifests list a blob (config, layer, index child). */
  projectBlobSk: (blob: string, manifest: string) => `L#${blob}#${manifest}`,
  projectBlobPrefix: (blob: string) => `L#${blob}#`,
  /** GSI1 partition of the project records of one digest (what `/images` shows for a digest never imported). */
  imageProjectsGsiPk: (digest: string) => `IMGNS#${digest}`,
  /** Registry credential secrets: one item each, so a namespace's secrets are one Query in name order. */
  secretPk: (ns: string) => `SEC#${ns}`,
  secretSk: (name: string) => name,
  namespaceGsiPk: (ns: string) => `NS#${ns}`,
  namespaceGsiSk: (name: string) => `IS#${name}`,
  schedulePk: (shard: number) => `SCHED#${shard}`,
  scheduleSk: (slot: number, pk: string, tag: string) => `${slotKey(slot)}#${pk}#${tag}`,
  sourcePk: (repository: string) => `SRC#${repository}`,
  sourceSk: (sourceTag: string, pk: string, tag: string) => `${sourceTag}#${pk}#${tag}`,
  budgetPk: (scope: string) => `BUDGET#${scope}`,
  /**
   * Write intents: what a writer is about to write ahead of the transaction that makes it reachable, in time order
   * so the sweep of abandoned writes reads only the old ones.
   */
  intentPk: (shard: number) => `INTENT#${shard}`,
  intentSk: (atMs: number, token: string) => `${String(atMs).padStart(15, '0')}#${token}`,
  intentBefore: (atMs: number) => String(atMs).padStart(15, '0'),
  backoffPk: (registry: string) => `BACKOFF#${registry}`,
  /** A project and its role bindings share one partition, so an access check is one Query. */
  projectPk: (ns: string) => `PRJ#${ns}`,
  projectSk: 'PRJ',
  bindingSk: (name: string) => `RB#${name}`,
  bindingPrefix: 'RB#',
  /** GSI1 partition of every project (listing for cluster administrators). */
  projectsGsiPk: 'PROJECTS',
  /** Subject index: the bindings naming a user or group, one item per (subject, binding). */
  subjectPk: (subject: string) => `SUBJ#${subject}`,
  subjectSk: (ns: string, binding: string) => `${ns}#${binding}`,
  /** The watch log: one partition, its counter and its records in position order. */
  watchLogPk: 'WATCH',
  watchCounterSk: 'HEAD',
  watchRecordSk: (seq: number) => `E#${String(seq).padStart(16, '0')}`,
  watchRecordPrefix: 'E#',
  /** Settle probes: written by a reader, answered by the change processor once it has logged what came before. */
  watchProbePrefix: 'PROBE#',
  /** What the watch log last said about each object of a stream: the stream (`IS`) and its tags (`T#<tag>`). */
  watchLastPk: (ns: string, stream: string) => `WLAST#${ns}/${stream}`,
};

/**
 * The sparse-index attributes a tag record carries: a place in the schedule (GSI2) when the scheduler re-checks
 * it, and its source repository (GSI3) when pushes to that repository should re-check it. Computed on every
 * write from the record itself, so the indexes can never disagree with the spec.
 */
export function scheduleIndexAttributes(pk: string, t: TagRecord): Record<string, string> {
  const out: Record<string, string> = {};
  if (scheduleEligible(t)) {
    const place = schedulePlace(pk);
    out[tableDefinition.gsi2.partitionKey] = keys.schedulePk(place.shard);
    out[tableDefinition.gsi2.sortKey] = keys.scheduleSk(place.slot, pk, t.name);
  }
  const source = trackedSource(t);
  if (source) {
    out[tableDefinition.gsi3.partitionKey] = keys.sourcePk(source.repository);
    out[tableDefinition.gsi3.sortKey] = keys.sourceSk(source.tag, pk, t.name);
  }
  return out;
}

/** The stream a partition key names (`IS#<ns>/<name>`), or undefined for any other partition. */
export function streamOfPartitionKey(pk: string): { namespace: string; name: string } | undefined {
  if (!pk.startsWith(STREAM_PK_PREFIX)) return undefined;
  const body = pk.slice(STREAM_PK_PREFIX.length);
  const slash = body.indexOf('/');
  if (slash <= 0) return undefined;
  return { namespace: body.slice(0, slash), name: body.slice(slash + 1) };
}

export function seqFromHistorySk(sk: string): number {
  return Number(sk.slice(sk.lastIndexOf('#') + 1));
}
