import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Job } from '../app/jobs/jobs';
import type { JobSink } from '../app/ports/jobs';

/** SQS caps a message delay at 15 minutes; longer waits (a Docker Hub quota window) take several hops. */
const MAX_DELAY_SECONDS = 900;

/** Jobs as SQS messages, one job each, sent ten at a time. */
export class SqsJobSink implements JobSink {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobs: Job[], delayMs = 0): Promise<void> {
    const delay = Math.min(MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
    for (let i = 0; i < jobs.length; i += 10) {
      const batch = jobs.slice(i, i + 10);
      const out = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((job, j) => ({
            Id: String(j),
            MessageBody: JSON.stringify(job),
            ...(delay > 0 ? { DelaySeconds: delay } : {}),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(`SQS refused ${out.Failed.length} jobs: ${out.Failed.map((f) => f.Code).join(', ')}`);
    }
  }
}
