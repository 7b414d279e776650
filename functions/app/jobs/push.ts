import type { TagRecord } from '../../core/imagestream/model';
import type { PushHint } from '../../core/push/notifications';
import { parseNormalizedReference, repositoryKey } from '../../core/reference';
import { trackedSource } from '../../core/schedule/scheduling';
import type { AppContext } from '../shared/context';
import { type ImportJobResult, runImportJob } from './import-jobs';
import type { JobSink } from './jobs';

/** Extra wait after the coalescing window, so a job never starts before its window has closed. */
const WINDOW_SLACK_MS = 250;

/**
 * Receives push notifications (webhooks, ECR events). A notification is a hint: nothing is imported from its
 * content. Notifications for one repository:tag within the coalescing window claim one shared window, so a burst
 * (one event per manifest of a multi-arch push, registries re-sending) becomes a single re-check when the window
 * closes. Returns how many re-checks were queued.
 */
export async function acceptPushHints(ctx: AppContext, hints: PushHint[], sink: JobSink): Promise<number> {
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
    await sink.enqueue([{ kind: 'push', hint }], window > 0 ? window + WINDOW_SLACK_MS : 0);
    queued++;
  }
  return queued;
}

/**
 * A push job: the tags that follow the repository:tag (tracking tags, i.e. scheduled DockerImage sources) are
 * re-checked at once with a HEAD, outside the scheduled budget. Unchanged digests write nothing, so duplicate
 * notifications change nothing.
 */
export async function runPush(
  ctx: AppContext,
  hint: PushHint,
): Promise<{ streams: number; tags: number; results: ImportJobResult[] }> {
  const repository = normalizedRepository(hint);
  if (!repository || !hint.tag) return { streams: 0, tags: 0, results: [] };
  const found = await ctx.schedule.trackingTags(repository, hint.tag);
  const byStream = new Map<string, { namespace: string; name: string; uid: string; tags: string[] }>();
  for (const t of found) {
    const key = `${t.namespace}/${t.name}/${t.uid}`;
    const j = byStream.get(key) ?? { namespace: t.namespace, name: t.name, uid: t.uid, tags: [] };
    j.tags.push(t.tag);
    byStream.set(key, j);
  }
  const results: ImportJobResult[] = [];
  // The index is read eventually consistently: re-check only tags that still follow this repository:tag.
  const follows = (t: TagRecord) => {
    const src = trackedSource(t);
    return src?.repository === repository && src.tag === hint.tag;
  };
  for (const job of byStream.values())
    results.push(
      await runImportJob(ctx, { ...job, force: true }, { admit: async (due) => due.filter(follows) }),
    );
  return { streams: byStream.size, tags: found.length, results };
}

/** The repository as the source index names it (`docker.io/library/nginx`), whatever alias the registry used. */
function normalizedRepository(h: PushHint): string | undefined {
  try {
    const ref = parseNormalizedReference(`${h.registry}/${h.repository}`);
    return repositoryKey(ref).toLowerCase();
  } catch {
    return undefined;
  }
}
