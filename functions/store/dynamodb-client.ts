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
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  doc.middlewareStack.add((next) => async (args) => next({ ...args, input: marshallableKeys(args.input) }), {
    step: 'initialize',
    priority: 'high',
    name: 'userKeysAsMaps',
  });
  return doc;
}

/**
 * The SDK's marshaller tells a map from a class instance by `value.constructor.name`, so an object with a key of
 * its own named `constructor` (a label, an annotation, a label of an image, all chosen by users) is refused as
 * "Unsupported type", or taken for a Set or a Map when that key holds `{ "name": "Set" }`. Such objects go to it
 * as Maps, which it writes by their entries: the item is stored as given. Everything else passes unchanged.
 */
export function marshallableKeys<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const safe = marshallableKeys(v);
      changed ||= safe !== v;
      return safe;
    });
    return (changed ? out : value) as T;
  }
  const proto = Object.getPrototypeOf(value);
  // Sets, Maps, binary values and NumberValues are the SDK's own types; they carry no user keys of their own.
  if (proto !== Object.prototype && proto !== null) return value;
  const ownConstructor = Object.hasOwn(value, 'constructor');
  let changed = ownConstructor;
  const entries = Object.entries(value).map(([k, v]) => {
    const safe = marshallableKeys(v);
    changed ||= safe !== v;
    return [k, safe] as const;
  });
  if (!changed) return value;
  return (ownConstructor ? new Map(entries) : Object.fromEntries(entries)) as T;
}
