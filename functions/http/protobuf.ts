import { badRequest } from '../core/errors';

/**
 * Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`), read only as far as this API needs it:
 * kubectl sends built-in kinds (access reviews) in it and does not fall back to JSON when refused. A body is the
 * magic `k8s\0` and a `runtime.Unknown` message whose `raw` field holds the object's message; fields are read by
 * the numbers of the kind's .proto (k8s.io/api), unknown fields are skipped. Answers stay JSON, which every
 * Kubernetes client reads.
 */

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** A message's fields: number → JSON name and type (a nested message's own fields). */
export interface ProtoMessage {
  readonly [field: number]: readonly [name: string, type: 'string' | 'bool' | ProtoMessage];
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
const MAX_NESTING = 16;

const TYPE_META: ProtoMessage = { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] };
const UNKNOWN: ProtoMessage = { 1: ['typeMeta', TYPE_META], 4: ['contentType', 'string'] };
/** `raw` (field 2 of runtime.Unknown) is kept as bytes and decoded with the kind's message. */
const RAW_FIELD = 2;

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end = buf.length,
  ) {}

  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw malformed('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 49) result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return result;
    }
    throw malformed('varint longer than 10 bytes');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (length > this.end - this.pos) throw malformed('a field is longer than the message');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.advance(8);
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.advance(4);
    else throw malformed(`unsupported wire type ${wireType}`);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw malformed('truncated field');
    this.pos += n;
  }
}

const malformed = (why: string) => badRequest(`the protobuf request body is malformed: ${why}`);

function decodeMessage(buf: Buffer, message: ProtoMessage, depth: number, raw?: { value?: Buffer }) {
  if (depth > MAX_NESTING) throw malformed('nested too deep');
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const key = r.varint();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (raw && field === RAW_FIELD && wireType === 2) {
      raw.value = r.bytes();
      continue;
    }
    const spec = Object.hasOwn(message, field) ? message[field] : undefined;
    if (!spec) {
      r.skip(wireType);
      continue;
    }
    const [name, type] = spec;
    if (type === 'bool' && wireType === 0) out[name] = r.varint() !== 0;
    else if (type === 'string' && wireType === 2) out[name] = r.bytes().toString('utf8');
    else if (typeof type === 'object' && wireType === 2)
      out[name] = decodeMessage(r.bytes(), type, depth + 1);
    else throw malformed(`field ${field} of ${name} has wire type ${wireType}`);
  }
  return out;
}

/** The object a Kubernetes protobuf body carries, as the JSON clients would have sent (kind and apiVersion set). */
export function decodeKubernetesProtobuf(body: Buffer, message: ProtoMessage): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw malformed('it does not start with the Kubernetes protobuf prefix');
  const raw: { value?: Buffer } = {};
  const envelope = decodeMessage(body.subarray(MAGIC.length), UNKNOWN, 0, raw);
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  return { ...typeMeta, ...decodeMessage(raw.value ?? Buffer.alloc(0), message, 1) };
}

const RESOURCE_ATTRIBUTES: ProtoMessage = {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
};
const NON_RESOURCE_ATTRIBUTES: ProtoMessage = { 1: ['path', 'string'], 2: ['verb', 'string'] };

/** authorization.k8s.io/v1 SelfSubjectAccessReview (metadata and status are not read). */
export const SELF_SUBJECT_ACCESS_REVIEW: ProtoMessage = {
  2: [
    'spec',
    { 1: ['resourceAttributes', RESOURCE_ATTRIBUTES], 2: ['nonResourceAttributes', NON_RESOURCE_ATTRIBUTES] },
  ],
};

/** authorization.k8s.io/v1 SelfSubjectRulesReview (metadata and status are not read). */
export const SELF_SUBJECT_RULES_REVIEW: ProtoMessage = { 2: ['spec', { 1: ['namespace', 'string'] }] };
