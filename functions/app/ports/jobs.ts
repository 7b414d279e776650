import type { Job } from '../jobs/jobs';

/** Where jobs go: an SQS queue in AWS (functions/aws/sqs-job-sink.ts), the in-process runner locally. */
export interface JobSink {
  /** Accepted means kept until done: resolves once the jobs are durably queued. */
  enqueue(jobs: Job[], delayMs?: number): Promise<void>;
}
