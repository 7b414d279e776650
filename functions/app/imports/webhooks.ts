import { forbidden, StatusError, unauthorized } from '../../core/errors';
import { parseWebhook, type WebhookFormat, webhookAuthorized } from '../../core/push/notifications';
import { acceptPushHints } from '../jobs/push-hints';
import type { AppContext } from '../shared/context';

const FORMATS: readonly WebhookFormat[] = ['distribution', 'dockerhub', 'harbor', 'quay'];

export interface WebhookRequest {
  format: string;
  authorization: string | undefined;
  queryToken: string | undefined;
  /** The body, read only once the sender has proved it knows the secret. */
  body: () => unknown;
}

/**
 * `POST /webhooks/{format}`: a registry says something was pushed or deleted. Authenticated by the shared
 * secret, not by a user identity. Answers 202 with how many re-checks were queued; the re-checks run in the
 * background, so a registry's notification never waits on another registry.
 */
export async function receiveWebhook(
  ctx: AppContext,
  req: WebhookRequest,
): Promise<{ kind: 'WebhookReceipt'; hints: number; queued: number }> {
  if (!FORMATS.includes(req.format as WebhookFormat))
    throw new StatusError(
      404,
      'NotFound',
      `unknown webhook format "${req.format}": use one of ${FORMATS.join(', ')}`,
    );
  const secret = ctx.webhookSecret ? await ctx.webhookSecret() : undefined;
  if (!secret) throw forbidden('registry webhooks are disabled: the service has no WEBHOOK_SECRET');
  if (!webhookAuthorized(secret, req.authorization, req.queryToken))
    throw unauthorized('Unauthorized: the webhook secret is missing or wrong');
  if (!ctx.jobs) throw new StatusError(503, 'ServiceUnavailable', 'the job queue is not available');
  const hints = parseWebhook(req.format as WebhookFormat, req.body());
  const queued = await acceptPushHints(ctx, hints, ctx.jobs);
  return { kind: 'WebhookReceipt', hints: hints.length, queued };
}
