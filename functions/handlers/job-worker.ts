import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { runJob } from '../app/jobs/job-runner';
import { describeJob, JOB_MAX_RECEIVES, type Job, jobSchema } from '../app/jobs/jobs';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { serviceContext } from '../composition/service-context';
import { readServiceConfig, requireSetting } from '../config';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';
import { batchTrigger, wrapHandler } from './wrap';

const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
const { log } = telemetry;
// Imports open the namespace's registry secrets with this key (serviceContext uses it).
requireSetting(config, 'SECRETS_KMS_KEY_ARN');
const sink = new SqsJobSink(
  telemetry.tracing.client(new SQSClient({})),
  requireSetting(config, 'IMPORT_QUEUE_URL'),
);
const ctx = serviceContext(config, { jobs: sink, metrics: telemetry.metrics, tracing: telemetry.tracing });

/**
 * Runs jobs from the queue (imports, scans, pushes, sweeps). A malformed message is dropped (retrying cannot fix
 * it); a job that throws is reported so SQS redelivers it (then the dead-letter queue); work a job defers (rate
 * limits, budgets) goes back on the queue with a delay instead of failing.
 */
export const handler = wrapHandler(
  telemetry,
  batchTrigger<SQSEvent>((record) => record.messageId),
  async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      // Every line of this job names its message (a batch has several).
      telemetry.logger.setCorrelationId(record.messageId);
      let job: Job;
      try {
        job = jobSchema.parse(JSON.parse(record.body)) as Job;
      } catch {
        log({ level: 'error', message: 'dropped a malformed job' });
        telemetry.metrics.record('jobDeadLettered');
        continue;
      }
      try {
        log({ level: 'info', message: 'job done', ...(await runJob(ctx, job, sink, log)) });
      } catch (e) {
        const receives = Number(record.attributes?.ApproximateReceiveCount ?? 1);
        const last = receives >= JOB_MAX_RECEIVES;
        log({
          level: 'error',
          message: last ? 'job failed its last attempt: dead-lettered' : 'job failed, will be retried',
          ...describeJob(job),
          receives,
          error: (e as Error).message,
        });
        telemetry.metrics.record('jobFailed');
        telemetry.metrics.record(last ? 'jobDeadLettered' : 'jobRetried');
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  },
);
