import type { AppContext } from '../shared/context';
import { actorOf } from '../shared/context';

/** How many streams one project-deletion job deletes before it hands the rest to a follow-up job. */
const STREAMS_PER_JOB = 200;

/**
 * The project-deletion job: deletes up to {@link STREAMS_PER_JOB} streams, then (when none are left) the
 * project's image records, the secrets, the bindings and the project. Returns false when more remains (the
 * runner queues it again).
 */
export async function finishProjectDeletion(ctx: AppContext, ns: string): Promise<boolean> {
  const project = await ctx.projects.getProject(ns);
  if (project?.phase !== 'Terminating') return true;
  const page = await ctx.streams.listHeads(ns, { limit: STREAMS_PER_JOB });
  for (const head of page.heads)
    await ctx.streams.deleteHead(head, { uid: head.uid }, actorOf(ctx)).catch((e: unknown) => {
      // Someone else deleted or replaced it meanwhile: the next page sees the current state.
      if ((e as Error).name !== 'ConcurrentWriteError') throw e;
    });
  if (page.heads.length > 0) return false;
  // The project's own image records: a project re-created under this name starts without them.
  if (!(await ctx.images.deleteProjectImages(ns))) return false;
  await ctx.secrets.deleteAll(ns);
  await ctx.projects.removeProject(ns);
  return true;
}
