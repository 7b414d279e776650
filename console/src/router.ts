import { useEffect, useState } from 'preact/hooks';

/**
 * Screens are addressed by the URL fragment (`#/projects/demo/streams/web/tags/prod`), so any static host serves
 * the console from one index.html, and links can be bookmarked and shared.
 */
export type Route =
  | { name: 'projects' }
  | { name: 'project'; ns: string }
  | { name: 'stream'; ns: string; stream: string }
  | { name: 'tag'; ns: string; stream: string; tag: string };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [p, ns, s, stream, t, tag] = parts;
  if (p === 'projects' && ns) {
    if (s === 'streams' && stream) {
      if (t === 'tags' && tag) return { name: 'tag', ns, stream, tag };
      return { name: 'stream', ns, stream };
    }
    return { name: 'project', ns };
  }
  return { name: 'projects' };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.name) {
    case 'projects':
      return '#/projects';
    case 'project':
      return `#/projects/${e(route.ns)}`;
    case 'stream':
      return `#/projects/${e(route.ns)}/streams/${e(route.stream)}`;
    case 'tag':
      return `#/projects/${e(route.ns)}/streams/${e(route.stream)}/tags/${e(route.tag)}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
