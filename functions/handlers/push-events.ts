import { SQSClient } from '@aws-sdk/client-sqs';
import { acceptPushHints } from '../app/jobs/push-hints';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { scheduleSettings } from '../composition/settings';
import { documentClient } from '../composition/table';
import { readServiceConfig, requireSetting } from '../config';
import { parseEcrImageAction } from '../core/push/notifications';
import { jsonLogger } from '../logging';
import { ScheduleStore } from '../store/schedule-store';

const config = readServiceConfig();
const log = jsonLogger(config.LOG_LEVEL);
// Only what accepting a hint needs: the coalescing windows (schedule store) and the push settings.
const ctx = {
  schedule: new ScheduleStore(documentClient(config), config.TABLE_NAME),
  scheduling: scheduleSettings(config),
};
const sink = new SqsJobSink(new SQSClient({}), requireSetting(config, 'IMPORT_QUEUE_URL'));

/**
 * Target of the rule on ECR's "ECR Image Action" events: a push or delete is a hint to re-check the tags that
 * follow that repository:tag. A multi-arch push sends one event per manifest; only the tagged one counts, and
 * bursts coalesce into one re-check.
 */
export const handler = async (event: unknown): Promise<{ queued: number }> => {
  const hints = parseEcrImageAction(event);
  const queued = await acceptPushHints(ctx, hints, sink);
  log({ level: 'info', msg: 'ecr image action', hints: hints.length, queued });
  return { queued };
};
