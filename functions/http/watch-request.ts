/** Whether a request asks for a watch: `?watch=true|1`, or the legacy `/watch/` segment after the version. */
export function isWatchRequest(path: string, query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch === 'true' || watch === '1' || legacyWatchPath(path) !== undefined;
}

/**
 * The list path and field selector of a legacy watch path (`/apis/<group>/<version>/watch/…` or `/api/v1/watch/…`,
 * deprecated in Kubernetes but still served): a trailing name becomes `metadata.name=<name>`.
 */
export function legacyWatchPath(path: string): { path: string; name?: string } | undefined {
  const m = /^(\/apis\/[^/]+\/[^/]+|\/api\/v1)\/watch(\/.*)$/.exec(path);
  if (!m) return undefined;
  const rest = m[2]!;
  const named = /^(\/namespaces\/[^/]+\/[^/]+|\/[^/]+)\/([^/]+)$/.exec(rest);
  if (named && !/^\/namespaces\/[^/]+$/.test(rest))
    return { path: `${m[1]}${named[1]}`, name: decodeURIComponent(named[2]!) };
  return { path: `${m[1]}${rest}` };
}
