import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { TableChange } from '../app/events/change-processor';

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
