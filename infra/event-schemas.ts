import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DETAIL_TYPES, type DetailType } from '../functions/core/events/tag-events';

/**
 * The events contract (docs/events/v1, JSON Schema 2020-12, one schema per detail type) as EventBridge schema
 * registry documents. The registry takes OpenAPI 3 or JSON Schema Draft 4; the contract uses a few keywords
 * Draft 4 lacks, all of which have exact Draft 4 equivalents, so the documents are converted at synth rather
 * than kept twice:
 *
 * - `$defs` → `definitions` (and `#/$defs/…` references with it);
 * - `const: v` → `enum: [v]`;
 * - `if: A, then: B, else: C` → `anyOf: [{allOf: [A, B]}, {allOf: [{not: A}, C]}]` (without `else`, `anyOf: [{not:
 *   A}, B]`), which accepts exactly what the conditional does;
 * - `$schema`/`$id` of the detail are dropped (the registry document has its own).
 *
 * Anything else newer than Draft 4 stops the synth, so a schema edit can never turn into a silently different
 * registry document. Each registry document describes the whole event as a consumer receives it (the EventBridge
 * envelope, with `detail` being the contract's detail), which is what code bindings are generated from.
 */

/** The contract's schema file of each detail type (docs/events/v1). */
export const EVENT_SCHEMA_FILES: Readonly<Record<DetailType, string>> = {
  [DETAIL_TYPES.changed]: 'image-stream-tag-changed.schema.json',
  [DETAIL_TYPES.importFailed]: 'image-stream-tag-import-failed.schema.json',
  [DETAIL_TYPES.importRecovered]: 'image-stream-tag-import-recovered.schema.json',
};

const SCHEMA_DIR = fileURLToPath(new URL('../docs/events/v1/', import.meta.url));

type Json = unknown;
type JsonObject = Record<string, Json>;

/** Keywords of drafts after 4 that have no conversion here. */
const UNSUPPORTED = [
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedProperties',
  'unevaluatedItems',
  'prefixItems',
  'contains',
  'minContains',
  'maxContains',
  'propertyNames',
  '$anchor',
  '$dynamicRef',
  '$dynamicAnchor',
  '$recursiveRef',
  'contentMediaType',
  'contentEncoding',
];

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One 2020-12 (sub)schema as Draft 4; `at` names where it is, for errors. */
export function toDraft4(schema: Json, at = '#'): Json {
  if (Array.isArray(schema)) return schema.map((s, i) => toDraft4(s, `${at}/${i}`));
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  const conditionals: Json[] = [];
  for (const [key, value] of Object.entries(schema)) {
    if (UNSUPPORTED.includes(key)) throw new Error(`${at}: "${key}" has no JSON Schema Draft 4 equivalent`);
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number')
      throw new Error(`${at}: numeric "${key}" needs converting by hand (Draft 4 takes a boolean)`);
    switch (key) {
      case '$schema':
      case '$id':
      case '$comment':
        break;
      case '$defs':
        break; // hoisted by the caller (definitions of the registry document)
      case '$ref':
        if (typeof value !== 'string' || !value.startsWith('#/$defs/'))
          throw new Error(`${at}: only local #/$defs/ references convert, not ${JSON.stringify(value)}`);
        out.$ref = `#/definitions/${value.slice('#/$defs/'.length)}`;
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'if':
      case 'then':
      case 'else':
        break; // below, together
      case 'properties':
      case 'patternProperties':
        out[key] = Object.fromEntries(
          Object.entries(value as JsonObject).map(([k, v]) => [k, toDraft4(v, `${at}/${key}/${k}`)]),
        );
        break;
      default:
        out[key] = toDraft4(value, `${at}/${key}`);
    }
  }
  if ('if' in schema) {
    const cond = toDraft4(schema.if, `${at}/if`);
    const then = 'then' in schema ? toDraft4(schema.then, `${at}/then`) : {};
    conditionals.push(
      'else' in schema
        ? {
            anyOf: [{ allOf: [cond, then] }, { allOf: [{ not: cond }, toDraft4(schema.else, `${at}/else`)] }],
          }
        : { anyOf: [{ not: cond }, then] },
    );
  } else if ('then' in schema || 'else' in schema) {
    throw new Error(`${at}: then/else without if`);
  }
  if (conditionals.length > 0) out.allOf = [...((out.allOf as Json[] | undefined) ?? []), ...conditionals];
  return out;
}

/** The contract's 2020-12 schema of one detail type. */
export function contractSchema(detailType: DetailType): JsonObject {
  return JSON.parse(readFileSync(`${SCHEMA_DIR}${EVENT_SCHEMA_FILES[detailType]}`, 'utf8')) as JsonObject;
}

/** `ImageStreamTag Changed` → `ImageStreamTagChanged` (the registry's schema and definition names). */
export const schemaTypeName = (detailType: DetailType) => detailType.replace(/[^A-Za-z0-9]/g, '');

/**
 * The registry document (JSON Schema Draft 4) of one detail type: the EventBridge envelope a rule target
 * receives, `detail-type` and `source` fixed to this event's, `detail` the contract's schema converted.
 */
export function registrySchema(detailType: DetailType, source: string): JsonObject {
  const detail = contractSchema(detailType);
  const name = schemaTypeName(detailType);
  const definitions: JsonObject = { [name]: toDraft4(detail) };
  for (const [k, v] of Object.entries((detail.$defs as JsonObject | undefined) ?? {})) {
    if (k === name)
      throw new Error(`${EVENT_SCHEMA_FILES[detailType]}: $defs/${k} clashes with the detail's name`);
    definitions[k] = toDraft4(v, `#/$defs/${k}`);
  }
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: detailType,
    description: detail.description,
    'x-amazon-events-detail-type': detailType,
    'x-amazon-events-source': source,
    type: 'object',
    required: ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'],
    properties: {
      version: { type: 'string' },
      id: {
        type: 'string',
        description: "EventBridge's id of this delivery (de-duplicate on detail.eventId)",
      },
      'detail-type': { type: 'string', enum: [detailType] },
      source: { type: 'string', enum: [source] },
      account: { type: 'string' },
      time: { type: 'string', format: 'date-time' },
      region: { type: 'string' },
      resources: { type: 'array', items: { type: 'string' } },
      detail: { $ref: `#/definitions/${name}` },
    },
    definitions,
  };
}
