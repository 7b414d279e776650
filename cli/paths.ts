/** The API paths isctl calls (Kubernetes REST layout). */
const IMG = '/apis/image.openshift.io/v1';
const seg = (s: string) => encodeURIComponent(s);

export const paths = {
  imagestreams: (ns: string, name?: string) =>
    `${IMG}/namespaces/${seg(ns)}/imagestreams${name ? `/${seg(name)}` : ''}`,
  imagestreamtags: (ns: string, name?: string) =>
    `${IMG}/namespaces/${seg(ns)}/imagestreamtags${name ? `/${seg(name)}` : ''}`,
  imagestreamimages: (ns: string, name: string) =>
    `${IMG}/namespaces/${seg(ns)}/imagestreamimages/${seg(name)}`,
  imagestreamimports: (ns: string) => `${IMG}/namespaces/${seg(ns)}/imagestreamimports`,
  tagHistory: (ns: string, name: string) =>
    `/apis/imagestreams.io/v1/namespaces/${seg(ns)}/imagestreamtaghistories/${seg(name)}`,
  secrets: (ns: string, name?: string) =>
    `/api/v1/namespaces/${seg(ns)}/secrets${name ? `/${seg(name)}` : ''}`,
  rolebindings: (ns: string, name?: string) =>
    `/apis/rbac.authorization.k8s.io/v1/namespaces/${seg(ns)}/rolebindings${name ? `/${seg(name)}` : ''}`,
  projectrequests: () => '/apis/project.openshift.io/v1/projectrequests',
  projects: (name?: string) => `/apis/project.openshift.io/v1/projects${name ? `/${seg(name)}` : ''}`,
  whoami: () => '/apis/user.openshift.io/v1/users/~',
  /** Local mode only: the HTTPS listener's port and CA. */
  localTls: () => '/local/tls',
};
