import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { StoredTag, StreamChange } from '../app/ports/events';
import { HEAD_SK, keys, streamOfPartitionKey } from './keys';
import { itemToHead, itemToTag } from './stream-store';

/** One table change as the stream delivers it, keys and images unmarshalled (the table's own vocabulary). */
export interface TableChange {
  keys: { PK?: unknown; SK?: unknown };
  oldImage?: Record<string, unknown> | undefined;
  newImage?: Record<string, unknown> | undefined;
  /** When the table recorded the change (ISO time), if the stream said. */
  observedAt?: string | undefined;
  /** The stream record's sequence number, to report where a batch must be retried from. */
  sequence?: string | undefined;
}

/**
 * A table stream record (from the Lambda event or from the DynamoDB Streams API, which share this shape) as a
 * plain change with unmarshalled keys and images.
 */
export function toTableChange(record: {
  dynamodb?:
    | {
        Keys?: unknown;
        OldImage?: unknown;
        NewImage?: unknown;
        SequenceNumber?: string | undefined;
        /** Epoch seconds in a Lambda event; a Date from the Streams API. */
        ApproximateCreationDateTime?: number | Date | undefined;
      }
    | undefined;
}): TableChange {
  const d = record.dynamodb ?? {};
  const img = (x: unknown) => (x ? unmarshall(x as Parameters<typeof unmarshall>[0]) : undefined);
  const at = d.ApproximateCreationDateTime;
  const observedAt =
    at instanceof Date
      ? at.toISOString()
      : typeof at === 'number'
        ? new Date(at * 1000).toISOString()
        : undefined;
  return {
    keys: img(d.Keys) ?? {},
    oldImage: img(d.OldImage),
    newImage: img(d.NewImage),
    observedAt,
    sequence: d.SequenceNumber,
  };
}

/** A table stream record as the change the processor works with (functions/app/events/change-processor.ts). */
export function toStreamChange(record: Parameters<typeof toTableChange>[0]): StreamChange {
  return streamChangeOf(toTableChange(record));
}

/**
 * What a table change means: a tag record or stream head of a stream partition, or something else. Only those
 * two kinds of record are looked at; anything else (secrets among them) becomes `other`, contents unread.
 */
export function streamChangeOf(c: TableChange): StreamChange {
  const at = { observedAt: c.observedAt, sequence: c.sequence };
  const stream = typeof c.keys.PK === 'string' ? streamOfPartitionKey(c.keys.PK) : undefined;
  const sk = c.keys.SK;
  if (
    c.keys.PK === keys.watchLogPk &&
    typeof sk === 'string' &&
    sk.startsWith(keys.watchProbePrefix) &&
    c.newImage &&
    !c.oldImage
  )
    return { kind: 'probe', token: sk, ...at };
  if (!stream || typeof sk !== 'string') return { kind: 'other', ...at };
  if (sk === HEAD_SK)
    return {
      kind: 'head',
      namespace: stream.namespace,
      stream: stream.name,
      removed: !!c.oldImage && !c.newImage,
      by: typeof c.oldImage?.by === 'string' ? c.oldImage.by : undefined,
      uid:
        typeof (c.newImage ?? c.oldImage)?.uid === 'string'
          ? String((c.newImage ?? c.oldImage)?.uid)
          : undefined,
      head: c.newImage && c.newImage.pending === undefined ? itemToHead(c.newImage) : undefined,
      resourceVersion:
        typeof (c.newImage ?? c.oldImage)?.rv === 'number'
          ? Number((c.newImage ?? c.oldImage)?.rv)
          : undefined,
      ...at,
    };
  if (!sk.startsWith(keys.tagPrefix)) return { kind: 'other', ...at };
  return {
    kind: 'tag',
    namespace: stream.namespace,
    stream: stream.name,
    before: storedTag(c.oldImage),
    after: storedTag(c.newImage),
    ...at,
  };
}

function storedTag(item: Record<string, unknown> | undefined): StoredTag | undefined {
  if (!item || typeof item.suid !== 'string') return undefined;
  return {
    streamUid: item.suid,
    tag: itemToTag(item),
    by: typeof item.by === 'string' ? item.by : undefined,
  };
}
