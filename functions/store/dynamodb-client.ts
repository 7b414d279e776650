import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One document client per process; `endpoint` points at DynamoDB Local in local mode and tests. */
export function createDocumentClient(
  opts: { endpoint?: string; region?: string } = {},
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(opts.endpoint
      ? {
          endpoint: opts.endpoint,
          region: opts.region ?? 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : opts.region
        ? { region: opts.region }
        : {}),
    maxAttempts: 3,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
}
