/** The public API paths the console calls (Kubernetes REST layout), the same ones `isctl` uses. */
const IMG = '/apis/image.openshift.io/v1';
const seg = (s: string) => encodeURIComponent(s);

export const paths = {
  whoami: () => '/apis/user.openshift.io/v1/users/~',
  projects: () => '/apis/project.openshift.io/v1/projects',
  imagestreams: (ns: string, name?: string) =>
    `${IMG}/namespaces/${seg(ns)}/imagestreams${name ? `/${seg(name)}` : ''}`,
  imagestreamtags: (ns: string, name: string) => `${IMG}/namespaces/${seg(ns)}/imagestreamtags/${seg(name)}`,
  imagestreamimports: (ns: string) => `${IMG}/namespaces/${seg(ns)}/imagestreamimports`,
  tagHistory: (ns: string, name: string) =>
    `/apis/imagestreams.io/v1/namespaces/${seg(ns)}/imagestreamtaghistories/${seg(name)}`,
  rolebindings: (ns: string, name?: string) =>
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${seg(ns)}/rolebindings${name ? `/${seg(name)}` : ''}`,
};

/** `path?k=v&…`, leaving out undefined values. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
