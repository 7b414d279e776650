import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { processBatch, pullSpecResolver } from '../app/events/change-processor';
import type { StreamChange } from '../app/ports/events';
import { logWatchChanges } from '../app/watch/watch-feed';
import { EventBridgePublisher } from '../aws/eventbridge-publisher';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { streamRules } from '../composition/settings';
import { documentClient } from '../composition/table';
import { readServiceConfig, requireSetting } from '../config';
import { ImageStore } from '../store/image-store';
import { toStreamChange } from '../store/stream-records';
import { StreamStore } from '../store/stream-store';
import { WatchLogStore } from '../store/watch-log';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';
import { batchTrigger, wrapHandler } from './wrap';

/**
 * The table stream's consumer: every change becomes its events (EventBridge) and jobs (SQS). Records are
 * handled in order; the first that cannot be fully handled is reported, so the stream retries from there
 * (bisecting, then the DLQ after bounded retries). Events that were already published are published again on a
 * retry with the same `eventId`: delivery is at least once, consumers de-duplicate.
 */
const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
const { log } = telemetry;
const publisher = new EventBridgePublisher(
  telemetry.tracing.client(new EventBridgeClient({})),
  requireSetting(config, 'EVENT_BUS_NAME'),
  config.EVENT_SOURCE,
);
const sink = new SqsJobSink(
  telemetry.tracing.client(new SQSClient({})),
  requireSetting(config, 'IMPORT_QUEUE_URL'),
);
const rules = streamRules(config);
const resolve = pullSpecResolver(rules);
// The watch log (docs/watch.md): written here, in stream order, before the batch's events and jobs.
const db = documentClient(config, telemetry.tracing);
const table = config.TABLE_NAME;
const feed = {
  streams: new StreamStore(db, table, { traceRead: telemetry.tracing.dynamoDbCall }),
  images: new ImageStore(db, table),
  rules,
};
const watchLog = new WatchLogStore(db, table, config.WATCH_RETENTION_SECONDS * 1000);

export const handler = wrapHandler(
  telemetry,
  batchTrigger<DynamoDBStreamEvent>((record) => record.eventID),
  async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const changes: StreamChange[] = event.Records.map(toStreamChange);
    try {
      await logWatchChanges(feed, watchLog, changes);
    } catch (e) {
      // Logging is idempotent (each object's state is logged once), so the whole batch is simply seen again.
      log({ level: 'error', message: 'the watch log retries the batch', error: (e as Error).message });
      return { batchItemFailures: [{ itemIdentifier: changes[0]?.sequence ?? '' }] };
    }
    const failure = await processBatch(changes, resolve, publisher, sink, telemetry.metrics);
    if (!failure) {
      log({ level: 'info', message: 'stream batch done', records: changes.length });
      return { batchItemFailures: [] };
    }
    log({
      level: 'error',
      message: 'the stream retries from a record',
      record: failure.failedAt,
      correlation_id: event.Records[failure.failedAt]?.eventID,
      error: failure.error,
    });
    return { batchItemFailures: [{ itemIdentifier: changes[failure.failedAt]?.sequence ?? '' }] };
  },
);
