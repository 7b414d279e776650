import { SQSClient } from '@aws-sdk/client-sqs';
import { orphanSweepsForTick } from '../app/jobs/orphans';
import { scanJobsForTick } from '../app/jobs/tick';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { scheduleSettings } from '../composition/settings';
import { readServiceConfig, requireSetting } from '../config';
import { jsonLogger } from '../logging';

const config = readServiceConfig();
const log = jsonLogger(config.LOG_LEVEL);
// The tick reads nothing: it needs the schedule's settings and the queue, no table or registry client.
const scheduling = scheduleSettings(config);
const sink = new SqsJobSink(new SQSClient({}), requireSetting(config, 'IMPORT_QUEUE_URL'));

/**
 * EventBridge Scheduler's target, once per tick: queues one scan job per shard for the slots that came due. It
 * reads nothing, so its cost does not grow with the number of scheduled tags. The schedule passes its nominal
 * time, so a retried invocation covers the same slots.
 */
export const handler = async (event: { scheduledTime?: string } | undefined): Promise<{ scans: number }> => {
  const nominal = event?.scheduledTime ? Date.parse(event.scheduledTime) : Number.NaN;
  const tickAt = Number.isFinite(nominal) ? nominal : Date.now();
  const jobs = scanJobsForTick({ scheduling }, tickAt);
  await sink.enqueue([...jobs, ...orphanSweepsForTick(tickAt, scheduling.tickSeconds)]);
  log({ level: 'info', msg: 'scheduler tick', tickAt: new Date(tickAt).toISOString(), scans: jobs.length });
  return { scans: jobs.length };
};
