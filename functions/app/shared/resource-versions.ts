import { FIRST_POSITION, type WatchResource } from '../ports/watch';
import type { AppContext } from './context';

/**
 * The object version a write's `resourceVersion` precondition stands for. Objects read with GET or in a list carry
 * their own version; objects taken from a watch event carry the event's position in the watch log (docs/watch.md),
 * which is what an informer's cache holds and what controllers send back with an update. A position is translated
 * into the version the object had in that logged state, so the update succeeds exactly when the object has not
 * changed since. A position the log no longer holds, or one of another object, matches nothing (NaN): the write
 * is refused as a conflict and the client reads the object again.
 */
export async function objectVersion(
  ctx: AppContext,
  resource: WatchResource,
  ns: string,
  name: string,
  resourceVersion: number,
): Promise<number> {
  if (!(resourceVersion >= FIRST_POSITION)) return resourceVersion;
  const record = await ctx.watch?.log.recordAt(resourceVersion);
  if (!record || record.deleted || record.resource !== resource) return Number.NaN;
  if (record.namespace !== ns || record.name !== name) return Number.NaN;
  const logged = (record.object?.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  if (logged !== undefined) return Number(logged);
  // Without the logged object, only an imagestream's version is known: it is the record's.
  return resource === 'imagestreams' ? record.version : Number.NaN;
}
