/**
 * The Swagger 2.0 document in the protobuf form kubectl asks `/openapi/v2` for
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`: gnostic's `openapi.v2.Document`, field numbers
 * of its OpenAPIv2.proto). kubectl's client-side validation (`kubectl create|apply --validate`, its default) reads
 * only this form, with no JSON fallback. Encoded from the JSON document (functions/http/openapi.ts), so both say
 * the same; a keyword this encoder does not know throws, so a new one cannot be dropped silently.
 */

type Json = Record<string, unknown>;

/** Protobuf wire encoding: fields in order, length-delimited messages. */
class Writer {
  private readonly parts: Buffer[] = [];

  private key(field: number, wireType: number): void {
    this.parts.push(varint(field * 8 + wireType));
  }

  string(field: number, value: unknown): this {
    if (typeof value !== 'string') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  strings(field: number, values: unknown): this {
    for (const v of asArray(values)) this.string(field, v);
    return this;
  }

  bool(field: number, value: unknown): this {
    if (typeof value !== 'boolean') return this;
    this.key(field, 0);
    this.parts.push(varint(value ? 1 : 0));
    return this;
  }

  int(field: number, value: unknown): this {
    if (typeof value !== 'number') return this;
    this.key(field, 0);
    this.parts.push(varint(value));
    return this;
  }

  double(field: number, value: unknown): this {
    if (typeof value !== 'number') return this;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, value: Buffer): this {
    this.key(field, 2);
    this.parts.push(varint(value.length), value);
    return this;
  }

  message(field: number, value: Buffer | undefined): this {
    return value === undefined ? this : this.bytes(field, value);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`cannot encode ${n} as a varint`);
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const asArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const entries = (v: unknown) => Object.entries((v ?? {}) as Json);

/** `Any`: gnostic keeps values as YAML text, and JSON is YAML. */
const any = (value: unknown) => new Writer().string(2, JSON.stringify(value)).done();
const named = (name: string, value: Buffer) => new Writer().string(1, name).message(2, value).done();

function vendorExtensions(w: Writer, field: number, obj: Json): void {
  for (const [k, v] of Object.entries(obj)) if (k.startsWith('x-')) w.message(field, named(k, any(v)));
}

const SCHEMA_FIELDS: Record<string, (w: Writer, v: unknown) => void> = {
  $ref: (w, v) => w.string(1, v),
  format: (w, v) => w.string(2, v),
  title: (w, v) => w.string(3, v),
  description: (w, v) => w.string(4, v),
  default: (w, v) => w.message(5, any(v)),
  multipleOf: (w, v) => w.double(6, v),
  maximum: (w, v) => w.double(7, v),
  exclusiveMaximum: (w, v) => w.bool(8, v),
  minimum: (w, v) => w.double(9, v),
  exclusiveMinimum: (w, v) => w.bool(10, v),
  maxLength: (w, v) => w.int(11, v),
  minLength: (w, v) => w.int(12, v),
  pattern: (w, v) => w.string(13, v),
  maxItems: (w, v) => w.int(14, v),
  minItems: (w, v) => w.int(15, v),
  uniqueItems: (w, v) => w.bool(16, v),
  maxProperties: (w, v) => w.int(17, v),
  minProperties: (w, v) => w.int(18, v),
  required: (w, v) => w.strings(19, v),
  enum: (w, v) => {
    for (const e of asArray(v)) w.message(20, any(e));
  },
  additionalProperties: (w, v) =>
    w.message(
      21,
      typeof v === 'boolean'
        ? new Writer().bool(2, v).done()
        : new Writer().message(1, schema(v as Json)).done(),
    ),
  type: (w, v) => w.message(22, new Writer().strings(1, v).done()),
  items: (w, v) => {
    const items = new Writer();
    for (const s of asArray(v)) items.message(1, schema(s as Json));
    w.message(23, items.done());
  },
  allOf: (w, v) => {
    for (const s of asArray(v)) w.message(24, schema(s as Json));
  },
  properties: (w, v) => {
    const props = new Writer();
    for (const [name, s] of entries(v)) props.message(1, named(name, schema(s as Json)));
    w.message(25, props.done());
  },
  readOnly: (w, v) => w.bool(27, v),
};

function schema(s: Json): Buffer {
  const w = new Writer();
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-')) continue;
    const encode = SCHEMA_FIELDS[k];
    if (!encode) throw new Error(`no protobuf encoding for the schema keyword ${k}`);
    encode(w, v);
  }
  vendorExtensions(w, 31, s);
  return w.done();
}

function parameter(p: Json): Buffer {
  if (p.in === 'body') {
    const body = new Writer()
      .string(1, p.description)
      .string(2, p.name)
      .string(3, p.in)
      .bool(4, p.required)
      .message(5, schema(p.schema as Json))
      .done();
    return new Writer().message(1, new Writer().message(1, body).done()).done();
  }
  if (p.in !== 'path') throw new Error(`no protobuf encoding for ${String(p.in)} parameters`);
  const sub = new Writer()
    .bool(1, p.required)
    .string(2, p.in)
    .string(3, p.description)
    .string(4, p.name)
    .string(5, p.type)
    .done();
  return new Writer().message(1, new Writer().message(2, new Writer().message(4, sub).done()).done()).done();
}

function operation(op: Json): Buffer {
  const w = new Writer().strings(1, op.tags).string(3, op.description).string(5, op.operationId);
  w.strings(6, op.produces).strings(7, op.consumes);
  for (const p of asArray(op.parameters)) w.message(8, parameter(p as Json));
  const responses = new Writer();
  for (const [code, r] of entries(op.responses)) {
    const res = r as Json;
    const response = new Writer().string(1, res.description);
    if (res.schema) response.message(2, new Writer().message(1, schema(res.schema as Json)).done());
    responses.message(1, named(code, new Writer().message(1, response.done()).done()));
  }
  w.message(9, responses.done()).strings(10, op.schemes);
  vendorExtensions(w, 13, op);
  return w.done();
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, patch: 8 };

function pathItem(item: Json): Buffer {
  const w = new Writer();
  for (const [method, field] of Object.entries(PATH_ITEM_FIELDS))
    if (item[method]) w.message(field, operation(item[method] as Json));
  for (const p of asArray(item.parameters)) w.message(9, parameter(p as Json));
  return w.done();
}

/** The Swagger 2.0 document `doc` (as openApiV2 makes it) as gnostic's protobuf `openapi.v2.Document`. */
export function encodeOpenApiV2(doc: Json): Buffer {
  const info = doc.info as Json;
  const paths = new Writer();
  for (const [path, item] of entries(doc.paths)) paths.message(2, named(path, pathItem(item as Json)));
  const definitions = new Writer();
  for (const [name, s] of entries(doc.definitions)) definitions.message(1, named(name, schema(s as Json)));
  const securityDefinitions = new Writer();
  for (const [name, d] of entries(doc.securityDefinitions)) {
    const def = d as Json;
    const apiKey = new Writer()
      .string(1, def.type)
      .string(2, def.name)
      .string(3, def.in)
      .string(4, def.description);
    securityDefinitions.message(1, named(name, new Writer().message(2, apiKey.done()).done()));
  }
  const w = new Writer()
    .string(1, doc.swagger)
    .message(2, new Writer().string(1, info.title).string(2, info.version).done())
    .message(8, paths.done())
    .message(9, definitions.done());
  for (const requirement of asArray(doc.security)) {
    const req = new Writer();
    for (const [name, scopes] of entries(requirement))
      req.message(1, named(name, new Writer().strings(1, scopes).done()));
    w.message(12, req.done());
  }
  return w.message(13, securityDefinitions.done()).done();
}
