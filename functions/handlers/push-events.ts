import { SQSClient } from '@aws-sdk/client-sqs';
import { acceptPushHints } from '../app/jobs/push';
import { buildAppContext } from '../app/shared/build-context';
import { SqsJobSink } from '../aws/sqs-job-sink';
import { readServiceConfig, requireSetting } from '../config';
import { parseEcrImageAction } from '../core/push/notifications';
import { jsonLogger } from '../logging';

const config = readServiceConfig();
const log = jsonLogger(config.LOG_LEVEL);
const ctx = buildAppContext(config);
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
