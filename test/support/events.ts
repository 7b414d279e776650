import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** The events a local stack wrote, in order (one EventBridge event per line of events.ndjson). */
export function readEvents(file: string): any[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l));
}

const SCHEMAS: Record<string, string> = {
  'ImageStreamTag Changed': 'image-stream-tag-changed',
  'ImageStreamTag Import Failed': 'image-stream-tag-import-failed',
  'ImageStreamTag Import Recovered': 'image-stream-tag-import-recovered',
};

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validators = Object.fromEntries(
  Object.entries(SCHEMAS).map(([type, name]) => [
    type,
    ajv.compile(JSON.parse(readFileSync(join('docs/events/v1', `${name}.schema.json`), 'utf8'))),
  ]),
);

/** Checks an event against the versioned contract in docs/events/v1; returns the errors (empty when valid). */
export function contractErrors(event: any): string[] {
  const errors: string[] = [];
  if (event.version !== '0' || typeof event.id !== 'string' || typeof event.source !== 'string')
    errors.push('not an EventBridge event envelope');
  const validate = validators[event['detail-type']];
  if (!validate) return [...errors, `unknown detail-type ${event['detail-type']}`];
  if (!validate(event.detail))
    errors.push(...(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
  if (event.id !== event.detail?.eventId) errors.push('id differs from detail.eventId');
  return errors;
}
