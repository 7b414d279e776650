import { SQSClient } from '@aws-sdk/client-sqs';
import { orphanSweepsForTick } from '../app/jobs/orphans';
import { scanJobsForTick } from '../app/jobs/tick';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { scheduleSettings } from '../composition/settings';
import { readServiceConfig, requireSetting } from '../config';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';
import { wrapHandler } from './wrap';

const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
const { log } = telemetry;
// The tick reads nothing: it needs the schedule's settings and the queue, no table or registry client.
const scheduling = scheduleSettings(config);
const sink = new SqsJobSink(
  telemetry.tracing.client(new SQSClient({})),
  requireSetting(config, 'IMPORT_QUEUE_URL'),
);

/**
 * EventBridge Scheduler's target, once per tick: queues one scan job per shard for the slots that came due. It
 * reads nothing, so its cost does not grow with the number of scheduled tags. The schedule passes its nominal
 * time, so a retried invocation covers the same slots.
 */
export const handler = wrapHandler(
  telemetry,
  { correlationId: (event: TickEvent) => event?.executionId },
  async (event: TickEvent): Promise<{ scans: number }> => {
    const nominal = event?.scheduledTime ? Date.parse(event.scheduledTime) : Number.NaN;
    const tickAt = Number.isFinite(nominal) ? nominal : Date.now();
    const jobs = scanJobsForTick({ scheduling }, tickAt);
    await sink.enqueue([...jobs, ...orphanSweepsForTick(tickAt, scheduling.tickSeconds)]);
    log({
      level: 'info',
      message: 'scheduler tick',
      tickAt: new Date(tickAt).toISOString(),
      scans: jobs.length,
    });
    return { scans: jobs.length };
  },
);

/** The schedule's input (infra/service-stack.ts): its nominal time and the Scheduler's execution id. */
type TickEvent = { scheduledTime?: string; executionId?: string } | undefined;
