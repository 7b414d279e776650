import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventResources } from '../../functions/aws/eventbridge-publisher';
import { DEFAULT_EVENT_SOURCE, readServiceConfig } from '../../functions/config';
import { contractErrors } from '../support/events';

/**
 * The events contract as docs/events.md states it: additive changes (a new optional field) keep the version, so
 * consumers validating with the v1 schemas must accept fields they do not know, anywhere in the event; the
 * de-duplication key is `detail.eventId` (the envelope `id` is the transport's); the default `source` is reverse
 * DNS; `resources` name the stream and the tag.
 */
const DIR = 'docs/events/v1/examples';
const examples = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(join(DIR, f), 'utf8'))] as const);
const byType = (type: string) => examples.find(([, e]) => e['detail-type'] === type)![1];
const clone = <T>(v: T): T => structuredClone(v);

describe('additive changes keep the version', () => {
  it('an event with a new field in its detail validates, for every detail type', () => {
    for (const [f, e] of examples) {
      const extended = clone(e);
      extended.detail.registryHost = 'quay.io';
      expect([f, contractErrors(extended)]).toEqual([f, []]);
    }
  });

  it('so does a new field in a nested object (an image pointer, a previous failure) and in the envelope', () => {
    const changed = clone(byType('ImageStreamTag Changed'));
    changed.detail.current.platform = 'linux/arm64';
    changed['replay-name'] = 'r1';
    expect(contractErrors(changed)).toEqual([]);
    const recovered = clone(byType('ImageStreamTag Import Recovered'));
    recovered.detail.previousFailure.retryAfterSeconds = 30;
    expect(contractErrors(recovered)).toEqual([]);
  });

  it('while what v1 promises still holds: required fields, types, the change rules', () => {
    const base = byType('ImageStreamTag Changed');
    const missing = clone(base);
    delete missing.detail.eventId;
    expect(contractErrors(missing).join()).toMatch(/eventId/);
    const pointer = clone(base);
    delete pointer.detail.current.pullSpec;
    expect(contractErrors(pointer)).not.toEqual([]);
    const created = clone(base);
    created.detail.previous = created.detail.current;
    expect(created.detail.change).toBe('created');
    expect(contractErrors(created)).not.toEqual([]);
    const kind = clone(base);
    kind.detail.change = 'renamed';
    expect(contractErrors(kind)).not.toEqual([]);
  });
});

describe('the envelope', () => {
  it('has its own id (EventBridge assigns one per delivery); detail.eventId is what consumers de-duplicate on', () => {
    for (const [f, e] of examples) {
      expect(e.id, f).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.id, f).not.toBe(e.detail.eventId);
    }
    const docs = readFileSync('docs/events.md', 'utf8');
    expect(docs).toMatch(/de-duplicat\w+ on `detail\.eventId`/i);
  });

  it('carries the default source, reverse DNS, the same default the service and the stacks use', () => {
    expect(DEFAULT_EVENT_SOURCE).toBe('io.imagestreams');
    expect(readServiceConfig({ TABLE_NAME: 't' }).EVENT_SOURCE).toBe(DEFAULT_EVENT_SOURCE);
    for (const [f, e] of examples) expect([f, e.source]).toEqual([f, DEFAULT_EVENT_SOURCE]);
  });

  it('names the stream and the tag in resources, as the publisher does', () => {
    for (const [f, e] of examples)
      expect([f, e.resources]).toEqual([
        f,
        eventResources({ partition: 'aws', region: e.region, account: e.account }, e.detail),
      ]);
  });
});
