/**
 * Interim reference parsing (OpenShift library-go `reference.Parse` over the distribution grammar), enough for
 * validating pull specs; replaced by the full distribution/reference port.
 */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

export interface DockerImageReference {
  registry: string;
  namespace: string;
  name: string;
  tag: string;
  id: string;
}

export function parseDockerImageReference(spec: string): DockerImageReference {
  if (!spec) throw new Error('repository name must have at least one component');
  const m = REFERENCE.exec(spec);
  if (!m) {
    const lower = REFERENCE.exec(spec.toLowerCase());
    throw new Error(lower ? 'repository name must be lowercase' : 'invalid reference format');
  }
  const repo = m[1]!;
  if (repo.length > 255) throw new Error('repository name must not be more than 255 characters');
  const parts = repo.split('/');
  let registry = '';
  if ((parts.length > 1 && /[.:]/.test(parts[0]!)) || parts[0] === 'localhost') {
    if (parts.length > 1) registry = parts.shift()!;
  }
  let namespace = '';
  if (parts.length > 1) namespace = parts.shift()!;
  return { registry, namespace, name: parts.join('/'), tag: m[2] ?? '', id: m[3] ?? '' };
}
