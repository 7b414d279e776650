import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { importJobsFor } from '../app/change-processor';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { readServiceConfig } from '../config';
import { jsonLogger } from '../http/handler';
import { toTableChange } from '../store/stream-records';

/**
 * The table stream's consumer: tag changes that ask for an import become jobs on the import queue. Records are
 * handled in order; the first whose jobs cannot be queued is reported so the stream retries from there (jobs are
 * idempotent, so re-queuing earlier ones is harmless).
 */
const config = readServiceConfig();
if (!config.IMPORT_QUEUE_URL) throw new Error('invalid configuration:\n  IMPORT_QUEUE_URL: is required');
const log = jsonLogger(config.LOG_LEVEL);
const sink = new SqsJobSink(new SQSClient({}), config.IMPORT_QUEUE_URL);

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  for (const record of event.Records) {
    try {
      const jobs = importJobsFor([toTableChange(record)]);
      if (jobs.length) await sink.enqueue(jobs);
    } catch (e) {
      log({ level: 'error', msg: 'could not queue import jobs', error: (e as Error).message });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
};
