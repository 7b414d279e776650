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
  // The envelope `id` is the transport's (EventBridge assigns its own to every PutEvents); the de-duplication key
  // is `detail.eventId`. Local mode happens to use the same value for both, which its own tests check.
  return errors;
}

/**
 * The events of one stream in the events file, once `until` holds for them (bounded by `ms`), after a further
 * `settleMs` in which a wrongly duplicated event would still show up.
 */
export async function eventsOf(
  eventsFile: string,
  ns: string,
  stream: string,
  until: (e: any[]) => boolean,
  opts: { ms?: number; settleMs?: number } = {},
): Promise<any[]> {
  const deadline = Date.now() + (opts.ms ?? 10_000);
  const mine = () =>
    readEvents(eventsFile).filter((e) => e.detail.namespace === ns && e.detail.stream === stream);
  while (!until(mine())) {
    if (Date.now() > deadline)
      throw new Error(`timed out; events so far: ${JSON.stringify(mine(), null, 1)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, opts.settleMs ?? 500));
  return mine();
}
