/**
 * Image reference parsing, ported from github.com/distribution/reference (grammar in reference.go, normalization
 * in normalize.go) and OpenShift's library-go `reference.Parse` splitting. Two views of one grammar:
 * - {@link parseNormalizedReference}: what Docker and registries mean (docker.io, library/, API host);
 * - {@link parseDockerImageReference}: OpenShift's as-written split (registry, namespace, name), used where the
 *   user's spelling must be kept (a tag event's dockerImageReference is the repository as written plus @digest).
 */
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const SHA512 = /^sha512:[a-f0-9]{128}$/;

/** distribution/reference RepositoryNameTotalLengthMax (checked on the path, as current versions do). */
const NAME_TOTAL_LENGTH_MAX = 255;

export const DOCKER_HUB_DOMAIN = 'docker.io';
const LEGACY_DOCKER_HUB_DOMAIN = 'index.docker.io';
/** Where Docker Hub's registry API actually answers; `docker.io` is only a name. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

export class InvalidReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidReferenceError';
  }
}

/** A reference as Docker understands it: always with a domain, Docker Hub names always with their namespace. */
export interface NormalizedReference {
  /** `docker.io`, `quay.io`, `localhost:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/ubuntu`, `owner/img`. */
  path: string;
  /** Empty when absent; `tagOrDefault` gives the tag a pull would use. */
  tag: string;
  /** Empty when absent. When both are present the digest wins for pulling. */
  digest: string;
}

interface RawParts {
  name: string;
  tag: string;
  digest: string;
}

function parseRaw(spec: string): RawParts {
  if (!spec) throw new InvalidReferenceError('repository name must have at least one component');
  const m = REFERENCE.exec(spec);
  if (!m) {
    if (REFERENCE.test(spec.toLowerCase()))
      throw new InvalidReferenceError('repository name must be lowercase');
    throw new InvalidReferenceError('invalid reference format');
  }
  const name = m[1]!;
  const digest = m[3] ?? '';
  if (digest) validateDigest(digest);
  return { name, tag: m[2] ?? '', digest };
}

/** Only sha256 and sha512 are registered algorithms; anything else can never be fetched, so it is an error. */
export function validateDigest(digest: string): void {
  if (!SHA256.test(digest) && !SHA512.test(digest)) {
    if (/^sha256:|^sha512:/.test(digest)) throw new InvalidReferenceError('invalid checksum digest length');
    throw new InvalidReferenceError('unsupported digest algorithm');
  }
}

/** splitDockerDomain from normalize.go: works on the whole string, tag and digest included. */
function splitDockerDomain(spec: string): { domain: string; remainder: string } {
  const slash = spec.indexOf('/');
  const first = slash < 0 ? '' : spec.slice(0, slash);
  let domain: string;
  let remainder: string;
  if (slash < 0 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DOCKER_HUB_DOMAIN;
    remainder = spec;
  } else {
    domain = first;
    remainder = spec.slice(slash + 1);
  }
  if (domain === LEGACY_DOCKER_HUB_DOMAIN) domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

/** ParseNormalizedNamed: `ubuntu` → docker.io/library/ubuntu, `Foo/bar` → domain `Foo`, `foo:5000` → tag 5000. */
export function parseNormalizedReference(spec: string): NormalizedReference {
  if (!spec) throw new InvalidReferenceError('repository name must have at least one component');
  if (ANCHORED_IDENTIFIER.test(spec))
    throw new InvalidReferenceError(
      `invalid repository name (${spec}), cannot specify 64-byte hexadecimal strings`,
    );
  const { domain, remainder } = splitDockerDomain(spec);
  const colon = remainder.indexOf(':');
  const remoteName = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remoteName.toLowerCase() !== remoteName)
    throw new InvalidReferenceError(
      `invalid reference format: repository name (${remoteName}) must be lowercase`,
    );
  const parsed = parseRaw(`${domain}/${remainder}`);
  const path = parsed.name.slice(domain.length + 1);
  if (path.length > NAME_TOTAL_LENGTH_MAX)
    throw new InvalidReferenceError(
      `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`,
    );
  return { domain, path, tag: parsed.tag, digest: parsed.digest };
}

/** `docker.io/library/ubuntu`: one key per repository however it was spelled. */
export function repositoryKey(ref: NormalizedReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalized string: `docker.io/library/busybox:nope`, `quay.io/x/y@sha256:…` (digest wins). */
export function normalizedString(ref: NormalizedReference): string {
  if (ref.digest) return `${repositoryKey(ref)}@${ref.digest}`;
  return ref.tag ? `${repositoryKey(ref)}:${ref.tag}` : repositoryKey(ref);
}

/** FamiliarString: strips `docker.io/` and `library/` as `docker` prints names. */
export function familiarName(ref: NormalizedReference): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return repositoryKey(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
}

/** The host the registry API answers on (Docker Hub's name is not its API host). */
export function apiHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
}

/** OpenShift's as-written split (library-go reference.Parse): no defaults applied. */
export interface DockerImageReference {
  registry: string;
  namespace: string;
  name: string;
  tag: string;
  id: string;
}

export function parseDockerImageReference(spec: string): DockerImageReference {
  const { name, tag, digest } = parseRaw(spec);
  if (name.length > NAME_TOTAL_LENGTH_MAX)
    throw new InvalidReferenceError(
      `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`,
    );
  const parts = name.split('/');
  let registry = '';
  if (parts.length > 1 && (/[.:]/.test(parts[0]!) || parts[0] === 'localhost')) registry = parts.shift()!;
  let namespace = '';
  if (parts.length > 1) namespace = parts.shift()!;
  return { registry, namespace, name: parts.join('/'), tag, id: digest };
}

/** The repository part as written (`quay.io/a/b`), without tag or digest. */
export function repositoryAsWritten(spec: string): string {
  return parseRaw(spec).name;
}
