import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { TableChange } from '../app/change-processor';

/**
 * A table stream record (from the Lambda event or from the DynamoDB Streams API, which share this shape) as a
 * plain change with unmarshalled keys and images.
 */
export function toTableChange(record: {
  dynamodb?: { Keys?: unknown; OldImage?: unknown; NewImage?: unknown } | undefined;
}): TableChange {
  const d = record.dynamodb ?? {};
  const img = (x: unknown) => (x ? unmarshall(x as Parameters<typeof unmarshall>[0]) : undefined);
  return { keys: img(d.Keys) ?? {}, oldImage: img(d.OldImage), newImage: img(d.NewImage) };
}
