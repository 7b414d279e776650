/**
 * One error hierarchy for the whole service. Every client-visible failure is a {@link StatusError}, which the
 * HTTP layer turns into a Kubernetes `Status` object in exactly one place (functions/http/status-response.ts).
 * Anything that is not a StatusError is an internal error: logged, and answered with a generic 500.
 */

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'ServerTimeout'
  | 'Timeout'
  | 'TooManyRequests'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'NotV2Registry'
  | 'ImportFailed';

export type CauseReason =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueForbidden'
  | 'FieldValueNotFound'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueTypeInvalid'
  | 'FieldManagerConflict'
  | 'NamespaceTerminating'
  | 'InternalError';

export interface StatusCause {
  reason: CauseReason;
  message: string;
  field: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The wire shape of a Kubernetes `metav1.Status`. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export function successStatus(details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    ...(details ? { details } : {}),
    code: 200,
  };
}

/** A group-qualified resource such as `imagestreams.image.openshift.io`, as Kubernetes prints it. */
export interface GroupResource {
  group: string;
  resource: string;
}

const IMAGE_GROUP = 'image.openshift.io';
export const resources = {
  imagestreams: { group: IMAGE_GROUP, resource: 'imagestreams' },
  imagestreamtags: { group: IMAGE_GROUP, resource: 'imagestreamtags' },
  imagestreamtag: { group: IMAGE_GROUP, resource: 'imagestreamtag' },
  imagestreamimages: { group: IMAGE_GROUP, resource: 'imagestreamimages' },
  imagestreamimage: { group: IMAGE_GROUP, resource: 'imagestreamimage' },
  imagestreammappings: { group: IMAGE_GROUP, resource: 'imagestreammappings' },
  images: { group: IMAGE_GROUP, resource: 'images' },
  imagestream: { group: IMAGE_GROUP, resource: 'imagestream' },
  imagestreamimports: { group: IMAGE_GROUP, resource: 'imagestreamimports' },
  dockerimage: { group: IMAGE_GROUP, resource: 'dockerimage' },
} satisfies Record<string, GroupResource>;

function qualified(r: GroupResource): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

export function notFound(r: GroupResource, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualified(r)} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.resource,
  });
}

export function alreadyExists(r: GroupResource, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.resource,
  });
}

export function conflict(r: GroupResource, name: string, why: string): StatusError {
  return new StatusError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`,
    {
      name,
      group: r.group,
      kind: r.resource,
    },
  );
}

export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

/** Kubernetes' answer for content created in a namespace (project) that does not exist. */
export function namespaceNotFound(ns: string): StatusError {
  return new StatusError(404, 'NotFound', `namespaces "${ns}" not found`, { name: ns, kind: 'namespaces' });
}

/** Kubernetes' answer for content created in a namespace (project) being deleted. */
export function namespaceTerminating(ns: string): StatusError {
  return new StatusError(
    403,
    'Forbidden',
    `unable to create new content in namespace ${ns} because it is being terminated`,
    {
      name: ns,
      kind: 'namespaces',
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${ns} is being terminated`,
          field: 'metadata.namespace',
        },
      ],
    },
  );
}

export function forbidden(message: string): StatusError {
  return new StatusError(403, 'Forbidden', message);
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

export function methodNotAllowed(method: string, path: string): StatusError {
  return new StatusError(
    405,
    'MethodNotAllowed',
    `the server does not allow the method ${method} on ${path}`,
  );
}

export function unsupportedMediaType(contentType: string, supported: string[]): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')} (got ${JSON.stringify(contentType)})`,
  );
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

export function serverTimeout(r: GroupResource, operation: string, retryAfterSeconds = 2): StatusError {
  return new StatusError(
    500,
    'ServerTimeout',
    `The ${operation} operation against ${qualified(r)} could not be completed at this time, please try again.`,
    { group: r.group, kind: r.resource, retryAfterSeconds },
  );
}

export function tooLarge(message: string): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', message);
}

export function internalError(message = 'an internal error occurred'): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);
}

/** A Kubernetes `field.Error`: one problem with one field, rendered the way apimachinery renders it. */
export class FieldError {
  private constructor(
    readonly reason: CauseReason,
    readonly field: string,
    readonly detail: string,
  ) {}

  static required(field: string, detail = ''): FieldError {
    return new FieldError(
      'FieldValueRequired',
      field,
      detail ? `Required value: ${detail}` : 'Required value',
    );
  }
  static invalid(field: string, value: unknown, detail: string): FieldError {
    return new FieldError(
      'FieldValueInvalid',
      field,
      `Invalid value: ${renderValue(value)}${detail ? `: ${detail}` : ''}`,
    );
  }
  static forbidden(field: string, detail: string): FieldError {
    return new FieldError('FieldValueForbidden', field, `Forbidden: ${detail}`);
  }
  static notFound(field: string, value: unknown): FieldError {
    return new FieldError('FieldValueNotFound', field, `Not found: ${renderValue(value)}`);
  }
  static tooLong(field: string, max: number): FieldError {
    return new FieldError('FieldValueTooLong', field, `Too long: must have at most ${max} bytes`);
  }
  static notSupported(field: string, value: unknown, valid: string[]): FieldError {
    return new FieldError(
      'FieldValueNotSupported',
      field,
      `Unsupported value: ${renderValue(value)}: supported values: ${valid.map((v) => `"${v}"`).join(', ')}`,
    );
  }
  static tooMany(field: string, actual: number, max: number): FieldError {
    return new FieldError('FieldValueTooMany', field, `Too many: ${actual}: must have at most ${max} items`);
  }
  static internal(detail: string): FieldError {
    return new FieldError('InternalError', '', `Internal error: ${detail}`);
  }

  toString(): string {
    return this.field ? `${this.field}: ${this.detail}` : this.detail;
  }

  toCause(): StatusCause {
    return { reason: this.reason, message: this.detail, field: this.field };
  }
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** 422 Invalid for `<Kind>.<group> "<name>"`, e.g. `ImageStream.image.openshift.io "ruby" is invalid: …`. */
export function invalid(kind: string, group: string, name: string, errors: FieldError[]): StatusError {
  const list = errors.map((e) => e.toString());
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new StatusError(
    422,
    'Invalid',
    `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${summary}`,
    {
      name,
      group,
      kind,
      causes: errors.map((e) => e.toCause()),
    },
  );
}
