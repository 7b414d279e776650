import type { PushHint } from '../../core/push/notifications';
import { parseNormalizedReference, repositoryKey } from '../../core/reference';
import type { JobSink } from '../ports/jobs';
import type { AppContext } from '../shared/context';

/** Extra wait after the coalescing window, so a job never starts before its window has closed. */
const WINDOW_SLACK_MS = 250;

/**
 * Receives push notifications (webhooks, ECR events). A notification is a hint: nothing is imported from its
 * content. Notifications for one repository:tag within the coalescing window claim one shared window, so a burst
 * (one event per manifest of a multi-arch push, registries re-sending) becomes a single re-check when the window
 * closes. Returns how many re-checks were queued.
 */
export async function acceptPushHints(
  ctx: Pick<AppContext, 'schedule' | 'scheduling'>,
  hints: PushHint[],
  sink: JobSink,
): Promise<number> {
  const unique = new Map<string, PushHint>();
  for (const h of hints) {
    // A manifest pushed by digest only (a child of a multi-arch image) moves no tag by itself.
    if (!h.tag) continue;
    const repository = normalizedRepository(h);
    if (!repository) continue;
    unique.set(`${repository}:${h.tag}`, h);
  }
  const now = Date.now();
  const window = ctx.scheduling.pushCoalesceMs;
  let queued = 0;
  for (const [key, hint] of unique) {
    if (window > 0 && !(await ctx.schedule.claimWindow(`push#${key}`, now, window))) continue;
    await sink.enqueue([{ kind: 'push', hint, notifiedAt: now }], window > 0 ? window + WINDOW_SLACK_MS : 0);
    queued++;
  }
  return queued;
}

/** The repository as the source index names it (`docker.io/library/nginx`), whatever alias the registry used. */
export function normalizedRepository(h: PushHint): string | undefined {
  try {
    const ref = parseNormalizedReference(`${h.registry}/${h.repository}`);
    return repositoryKey(ref).toLowerCase();
  } catch {
    return undefined;
  }
}
