import type { TagRecord } from '../../core/imagestream/model';
import type { PushHint } from '../../core/push/notifications';
import { trackedSource } from '../../core/schedule/scheduling';
import type { AppContext } from '../shared/context';
import { type ImportJobResult, runImportJob } from './import-jobs';
import { normalizedRepository } from './push-hints';

/**
 * A push job: the tags that follow the repository:tag (tracking tags, i.e. scheduled DockerImage sources) are
 * re-checked at once with a HEAD, outside the scheduled budget. Unchanged digests write nothing, so duplicate
 * notifications change nothing. When the re-check moved a tag, the time from the notification (`notifiedAt`) to
 * that committed change is measured: its event follows through the table stream.
 */
export async function runPush(
  ctx: AppContext,
  hint: PushHint,
  notifiedAt?: number,
  clock: () => number = Date.now,
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
  if (notifiedAt !== undefined && results.some((r) => r.wrote && r.imported.length > 0))
    ctx.metrics.record('pushToTagChange', Math.max(0, clock() - notifiedAt));
  return { streams: byStream.size, tags: found.length, results };
}
