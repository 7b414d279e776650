import type { ObjectMeta, TagReference } from '../api-types';
import { FieldError } from '../errors';
import { parseDockerImageReference } from '../reference';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const STREAM_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Docker's tag grammar, which `oc tag` enforces; the server enforces it too so every tag can be pulled. */
export const TAG_NAME = /^[\w][\w.-]{0,127}$/;
export const MAX_TAG_NAME_LENGTH = 128;
/** OpenShift's limit on `<namespace>/<name>` of a stream; it also keeps every table key built from it short. */
const MAX_STREAM_PATH_LENGTH = 255;
/** Image IDs in sources are digests (`sha512:` and 128 hex digits at most) or unique prefixes of them. */
export const MAX_IMAGE_ID_LENGTH = 255;
const TOTAL_ANNOTATION_BYTES = 256 * 1024;
/** Keeps every tag record far below DynamoDB's 400 KB item limit. */
export const TAG_ANNOTATION_BYTES = 64 * 1024;

export const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)";

export function validateNamespaceName(ns: string): string | undefined {
  if (!ns) return 'a namespace is required';
  if (ns.length > 63 || !DNS1123_LABEL.test(ns))
    return `invalid namespace "${ns}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`;
  return undefined;
}

/** Why `name` is not a DNS subdomain (service account and secret names), or undefined when it is one. */
export function dnsSubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
  return undefined;
}

/** Whether a stream could be named `name` in `ns` at all (non-empty, `<namespace>/<name>` within OpenShift's limit). */
export function streamPathFits(ns: string, name: string): boolean {
  return name.length > 0 && Buffer.byteLength(`${ns}/${name}`) <= MAX_STREAM_PATH_LENGTH;
}

/** ImageStream names: path-segment rules plus OpenShift's repository-name grammar (docs/semantics.md#objects-and-names). */
export function validateStreamName(namespace: string, name: string, field = 'metadata.name'): FieldError[] {
  if (!name) return [FieldError.required(field, 'name or generateName is required')];
  const errors: FieldError[] = [];
  if (name === '.' || name === '..' || name.includes('/') || name.includes('%'))
    errors.push(FieldError.invalid(field, name, `may not be '.' or '..' and may not contain '/' or '%'`));
  else if (!STREAM_NAME.test(name))
    errors.push(FieldError.invalid(field, name, `must match "${STREAM_NAME.source}"`));
  if (!streamPathFits(namespace, name))
    errors.push(FieldError.invalid(field, name, "'namespace/name' cannot be longer than 255 characters"));
  return errors;
}

function validateQualifiedName(key: string, field: string): FieldError[] {
  const parts = key.split('/');
  let name = key;
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    name = n;
    if (!prefix || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))
      return [FieldError.invalid(field, key, 'prefix part must be a lowercase RFC 1123 subdomain')];
  } else if (parts.length > 2) {
    return [
      FieldError.invalid(
        field,
        key,
        "a qualified name must consist of an optional DNS subdomain prefix and '/' and a name",
      ),
    ];
  }
  if (!name || name.length > 63 || !QUALIFIED_NAME_PART.test(name))
    return [
      FieldError.invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)",
      ),
    ];
  return [];
}

/**
 * Kubernetes bounds each label, not their number; all of an object's labels together are bounded here so that,
 * with annotations at their limit, every object still fits one table item.
 */
const TOTAL_LABEL_BYTES = 64 * 1024;

export function validateLabels(labels: unknown, field = 'metadata.labels'): FieldError[] {
  if (labels == null) return [];
  if (typeof labels !== 'object' || Array.isArray(labels))
    return [FieldError.invalid(field, labels, 'must be a map of strings')];
  const errors: FieldError[] = [];
  let bytes = 0;
  for (const [k, v] of Object.entries(labels)) bytes += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (bytes > TOTAL_LABEL_BYTES) return [FieldError.tooLong(field, TOTAL_LABEL_BYTES)];
  for (const [k, v] of Object.entries(labels)) {
    errors.push(...validateQualifiedName(k, field));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      errors.push(
        FieldError.invalid(
          `${field}`,
          v,
          'a valid label value must be 63 characters or less and consist of alphanumeric characters, "-", "_" or "."',
        ),
      );
  }
  return errors;
}

export function validateAnnotations(
  annotations: unknown,
  field: string,
  maxBytes = TOTAL_ANNOTATION_BYTES,
): FieldError[] {
  if (annotations == null) return [];
  if (typeof annotations !== 'object' || Array.isArray(annotations))
    return [FieldError.invalid(field, annotations, 'must be a map of strings')];
  const errors: FieldError[] = [];
  let bytes = 0;
  for (const [k, v] of Object.entries(annotations)) {
    errors.push(...validateQualifiedName(k.toLowerCase(), field));
    if (typeof v !== 'string') errors.push(FieldError.invalid(`${field}[${k}]`, v, 'must be a string'));
    else bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (bytes > maxBytes) errors.push(FieldError.tooLong(field, maxBytes));
  return errors;
}

export function validateObjectMeta(meta: ObjectMeta): FieldError[] {
  return [...validateLabels(meta.labels), ...validateAnnotations(meta.annotations, 'metadata.annotations')];
}

function parses(spec: string): string | undefined {
  try {
    parseDockerImageReference(spec);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * OpenShift's spec tag validation (openshift-apiserver pkg/image/apis/image/validation/validation.go), plus tag-name
 * and size rules of our own.
 */
export function validateSpecTag(tag: TagReference, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof tag.name !== 'string' || !TAG_NAME.test(tag.name))
    errors.push(
      FieldError.invalid(`${path}.name`, tag.name ?? '', `a tag name must match ${TAG_NAME.source}`),
    );
  errors.push(...validateAnnotations(tag.annotations, `${path}.annotations`, TAG_ANNOTATION_BYTES));
  const from = tag.from;
  if (from) {
    switch (from.kind) {
      case 'DockerImage':
        if (!from.name) errors.push(FieldError.required(`${path}.from.name`));
        else {
          const why = parses(from.name);
          if (why) errors.push(FieldError.invalid(`${path}.from.name`, from.name, why));
        }
        break;
      case 'ImageStreamImage':
      case 'ImageStreamTag':
        if (!from.name) errors.push(FieldError.required(`${path}.from.name`));
        else errors.push(...validateSourceName(from.kind, from.name, `${path}.from.name`));
        if (tag.importPolicy?.scheduled)
          errors.push(
            FieldError.invalid(
              `${path}.importPolicy.scheduled`,
              true,
              'only tags pointing to Docker repositories may be scheduled for background import',
            ),
          );
        break;
      default:
        errors.push(
          FieldError.required(
            `${path}.from.kind`,
            "valid values are 'DockerImage', 'ImageStreamImage', 'ImageStreamTag'",
          ),
        );
    }
    if (from.namespace && validateNamespaceName(from.namespace))
      errors.push(
        FieldError.invalid(`${path}.from.namespace`, from.namespace, 'must be a valid namespace name'),
      );
  }
  // OpenShift defaults an empty type to Source before it validates (functions/core/imagestream/spec-rules.ts does too).
  const refType = tag.referencePolicy?.type;
  if (refType !== undefined && refType !== '' && refType !== 'Source' && refType !== 'Local')
    errors.push(
      FieldError.invalid(`${path}.referencePolicy.type`, refType, 'valid values are "Source", "Local"'),
    );
  const mode = tag.importPolicy?.importMode;
  if (mode !== undefined && mode !== '' && mode !== 'Legacy' && mode !== 'PreserveOriginal')
    errors.push(
      FieldError.invalid(
        `${path}.importPolicy.importMode`,
        mode,
        "invalid import mode, valid modes are '', 'Legacy', 'PreserveOriginal'",
      ),
    );
  if (tag.generation != null && (!Number.isInteger(tag.generation) || tag.generation < 0))
    errors.push(FieldError.invalid(`${path}.generation`, tag.generation, 'must be a non-negative integer'));
  return errors;
}

/**
 * `<tag>` or `<stream>:<tag>` (ImageStreamTag), `<id>` or `<stream>@<id>` (ImageStreamImage), with parts no
 * longer than any stream name, tag or image ID can be.
 */
function validateSourceName(
  kind: 'ImageStreamTag' | 'ImageStreamImage',
  name: string,
  field: string,
): FieldError[] {
  const sep = kind === 'ImageStreamTag' ? ':' : '@';
  const parts = name.split(sep);
  const [stream, ref] = parts.length === 2 ? parts : ['', parts[0] ?? ''];
  if (parts.length > 2 || !ref || (parts.length === 2 && !stream))
    return [FieldError.invalid(field, name, 'must be of the form <tag>, <repo>:<tag>, <id>, or <repo>@<id>')];
  if (Buffer.byteLength(stream!) > MAX_STREAM_PATH_LENGTH)
    return [
      FieldError.invalid(
        field,
        name,
        `the image stream name may have at most ${MAX_STREAM_PATH_LENGTH} characters`,
      ),
    ];
  if (kind === 'ImageStreamTag' && !TAG_NAME.test(ref))
    return [FieldError.invalid(field, name, `the tag must match ${TAG_NAME.source}`)];
  if (kind === 'ImageStreamImage' && Buffer.byteLength(ref) > MAX_IMAGE_ID_LENGTH)
    return [
      FieldError.invalid(field, name, `the image ID may have at most ${MAX_IMAGE_ID_LENGTH} characters`),
    ];
  return [];
}

export function validateDockerImageRepository(repo: string | undefined): FieldError[] {
  if (!repo) return [];
  const field = 'spec.dockerImageRepository';
  let ref: ReturnType<typeof parseDockerImageReference>;
  try {
    ref = parseDockerImageReference(repo);
  } catch (e) {
    return [FieldError.invalid(field, repo, e instanceof Error ? e.message : String(e))];
  }
  if (ref.tag) return [FieldError.invalid(field, repo, 'the repository name may not contain a tag')];
  if (ref.id) return [FieldError.invalid(field, repo, 'the repository name may not contain an ID')];
  return [];
}

/** A TagEvent's dockerImageReference must be present and parse (status entries and mapped images). */
export function validateImageReference(ref: string | undefined, field: string): FieldError[] {
  if (!ref) return [FieldError.required(field)];
  const why = parses(ref);
  return why ? [FieldError.invalid(field, ref, why)] : [];
}
