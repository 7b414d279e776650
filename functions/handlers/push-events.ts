import { SQSClient } from '@aws-sdk/client-sqs';
import { acceptPushHints } from '../app/jobs/push-hints';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { scheduleSettings } from '../composition/settings';
import { documentClient } from '../composition/table';
import { readServiceConfig, requireSetting } from '../config';
import { parseEcrImageAction } from '../core/push/notifications';
import { ScheduleStore } from '../store/schedule-store';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';
import { wrapHandler } from './wrap';

const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
const { log } = telemetry;
// Only what accepting a hint needs: the coalescing windows (schedule store) and the push settings.
const ctx = {
  schedule: new ScheduleStore(documentClient(config, telemetry.tracing), config.TABLE_NAME),
  scheduling: scheduleSettings(config),
};
const sink = new SqsJobSink(
  telemetry.tracing.client(new SQSClient({})),
  requireSetting(config, 'IMPORT_QUEUE_URL'),
);

/**
 * Target of the rule on ECR's "ECR Image Action" events: a push or delete is a hint to re-check the tags that
 * follow that repository:tag. A multi-arch push sends one event per manifest; only the tagged one counts, and
 * bursts coalesce into one re-check.
 */
export const handler = wrapHandler(
  telemetry,
  { correlationId: (event: unknown) => stringField(event, 'id') },
  async (event: unknown): Promise<{ queued: number }> => {
    const hints = parseEcrImageAction(event);
    const queued = await acceptPushHints(ctx, hints, sink);
    log({ level: 'info', message: 'ecr image action', hints: hints.length, queued });
    return { queued };
  },
);

function stringField(event: unknown, name: string): string | undefined {
  const value = event && typeof event === 'object' ? (event as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}
