import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv4 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DETAIL_TYPES, type DetailType } from '../../functions/core/events/tag-events';
import { registrySchema, toDraft4 } from '../../infra/event-schemas';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';
import { contractErrors } from '../support/events';

/**
 * The events contract in the EventBridge schema registry: the JSON Schema 2020-12 documents of docs/events/v1,
 * converted at synth to JSON Schema Draft 4 (what the registry takes) around the EventBridge envelope. The
 * converted documents must accept and refuse exactly what the contract does; a Draft 4 validator checks them.
 */
const ajv4 = new Ajv4({ allErrors: true, strict: false });
addFormats(ajv4);
const SOURCE = 'io.imagestreams';
const draft4 = Object.fromEntries(
  Object.values(DETAIL_TYPES).map((t) => [t, ajv4.compile(registrySchema(t, SOURCE))]),
) as Record<DetailType, ReturnType<typeof ajv4.compile>>;
const valid4 = (e: any) => draft4[e['detail-type'] as DetailType]!(e) === true;

const DIR = 'docs/events/v1/examples';
const examples = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')));

/** Variants of an example, valid and not, to compare both validators on. */
function variants(e: any): any[] {
  const out: any[] = [];
  const v = (edit: (x: any) => void) => {
    const x = structuredClone(e);
    edit(x);
    out.push(x);
  };
  v(() => {});
  v((x) => (x.detail.extra = { any: 'thing' }));
  v((x) => delete x.detail.eventId);
  v((x) => (x.detail.version = '2'));
  v((x) => (x.detail.time = 'yesterday'));
  v((x) => (x.detail.eventId = 'not-a-uuid'));
  v((x) => (x.detail.namespace = ''));
  v((x) => (x.detail.current = null));
  v((x) => (x.detail.current = { image: 'sha256:zz' }));
  v((x) => (x.detail.previous = x.detail.current));
  v((x) => (x.detail.generation = -1));
  v((x) => (x.detail.generation = null));
  for (const change of ['created', 'moved', 'rolledBack', 'deleted', 'renamed'])
    v((x) => (x.detail.change = change));
  v((x) => (x.detail.previousFailure = { reason: 'X' }));
  v((x) => (x.detail.from = 42));
  return out;
}

describe('the registry documents (JSON Schema Draft 4)', () => {
  it('accept every example and refuse or accept each variant exactly as the 2020-12 contract does', () => {
    let compared = 0;
    let refused = 0;
    for (const e of examples)
      for (const x of variants(e)) {
        const contract = contractErrors(x).length === 0;
        expect([x['detail-type'], JSON.stringify(x.detail), valid4(x)]).toEqual([
          x['detail-type'],
          JSON.stringify(x.detail),
          contract,
        ]);
        compared++;
        if (!contract) refused++;
      }
    expect(compared).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(compared / 3);
    for (const e of examples) expect(valid4(e)).toBe(true);
  });

  it('fix detail-type and source, and keep the envelope open to additive fields', () => {
    const [e] = examples;
    expect(valid4({ ...e, source: 'other' })).toBe(false);
    expect(draft4[e['detail-type'] as DetailType]!({ ...e, 'detail-type': 'Other' })).toBe(false);
    expect(valid4({ ...e, 'replay-name': 'r' })).toBe(true);
  });

  it('turn conditionals and constants into Draft 4 and refuse what has no Draft 4 form', () => {
    // A JSON Schema conditional, as parsed from a file (an object literal with `then` reads as a thenable).
    const conditional = JSON.parse(
      '{"if": {"const": 1}, "then": {"type": "integer"}, "else": {"type": "string"}}',
    );
    expect(toDraft4(conditional)).toEqual({
      allOf: [
        {
          anyOf: [
            { allOf: [{ enum: [1] }, { type: 'integer' }] },
            { allOf: [{ not: { enum: [1] } }, { type: 'string' }] },
          ],
        },
      ],
    });
    expect(() => toDraft4({ properties: { a: { prefixItems: [] } } })).toThrow(
      /#\/properties\/a: "prefixItems"/,
    );
    expect(() => toDraft4({ exclusiveMinimum: 0 })).toThrow(/exclusiveMinimum/);
    expect(() => toDraft4({ $ref: 'https://example.com/x' })).toThrow(/only local/);
  });
});

describe('the service stack', () => {
  const synth = (eventSource?: string) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const s = new StatefulStack(app, 'Stateful');
    return Template.fromStack(
      new ServiceStack(app, 'Service', {
        table: s.table,
        secretsKey: s.secretsKey,
        ...(eventSource ? { eventSource } : {}),
      }),
    );
  };

  it('registers one schema per detail type in its own registry', () => {
    const t = synth();
    const registries = t.findResources('AWS::EventSchemas::Registry');
    expect(Object.keys(registries)).toHaveLength(1);
    const [registryId] = Object.keys(registries);
    const schemas = Object.values(t.findResources('AWS::EventSchemas::Schema')).map((r: any) => r.Properties);
    expect(schemas.map((s) => s.SchemaName).sort()).toEqual([
      'io.imagestreams@ImageStreamTagChanged',
      'io.imagestreams@ImageStreamTagImportFailed',
      'io.imagestreams@ImageStreamTagImportRecovered',
    ]);
    for (const s of schemas) {
      expect(s.Type).toBe('JSONSchemaDraft4');
      expect(s.RegistryName).toEqual({ 'Fn::GetAtt': [registryId, 'RegistryName'] });
      const content = JSON.parse(s.Content);
      expect(content).toEqual(registrySchema(content['x-amazon-events-detail-type'], SOURCE));
      expect(content.$schema).toBe('http://json-schema.org/draft-04/schema#');
    }
    t.hasOutput('EventSource', { Value: 'io.imagestreams' });
  });

  it('follows a configured source', () => {
    const t = synth('com.example.imagestreams');
    const schemas = Object.values(t.findResources('AWS::EventSchemas::Schema')).map((r: any) => r.Properties);
    for (const s of schemas) {
      expect(s.SchemaName).toMatch(/^com\.example\.imagestreams@/);
      expect(JSON.parse(s.Content).properties.source.enum).toEqual(['com.example.imagestreams']);
    }
  });
});
