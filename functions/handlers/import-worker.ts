import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { buildAppContext } from '../app/build-context';
import { runImportJob } from '../app/import-jobs';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { readServiceConfig } from '../config';
import { jsonLogger } from '../http/handler';

const config = readServiceConfig();
if (!config.IMPORT_QUEUE_URL) throw new Error('invalid configuration:\n  IMPORT_QUEUE_URL: is required');
const log = jsonLogger(config.LOG_LEVEL);
const ctx = buildAppContext(config);
const sink = new SqsJobSink(new SQSClient({}), config.IMPORT_QUEUE_URL);

const jobSchema = z.object({
  namespace: z.string().min(1),
  name: z.string().min(1),
  uid: z.string().min(1),
  tags: z.array(z.string().min(1)).min(1).max(1000),
  force: z.boolean().optional(),
});

/**
 * Runs import jobs from the queue. A malformed message is dropped (retrying cannot fix it); a job that throws is
 * reported so SQS redelivers it (then the dead-letter queue); a rate-limited registry re-queues the job for after
 * its window instead of failing.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    let job: z.infer<typeof jobSchema>;
    try {
      job = jobSchema.parse(JSON.parse(record.body));
    } catch {
      log({ level: 'error', msg: 'dropped a malformed import job', messageId: record.messageId });
      continue;
    }
    try {
      const result = await runImportJob(ctx, job);
      if (result.retryAfterMs !== undefined) await sink.enqueue([job], result.retryAfterMs);
      log({ level: 'info', msg: 'import job done', namespace: job.namespace, name: job.name, ...result });
    } catch (e) {
      log({
        level: 'error',
        msg: 'import job failed',
        namespace: job.namespace,
        name: job.name,
        error: (e as Error).message,
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
};
