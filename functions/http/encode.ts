import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { dump as dumpYaml } from 'js-yaml';
import { tooLarge } from '../core/errors';
import type { AnswerFormat } from './negotiate';

/** Lambda's synchronous response limit is 6 MB; keep headroom for headers and the JSON envelope. */
export const MAX_RESPONSE_BYTES = 5_800_000;
const GZIP_THRESHOLD = 1024;

/** A JSON answer: see {@link encodeAnswer}. */
export function encodeJson(
  status: number,
  body: unknown,
  acceptEncoding: string | undefined,
  smaller: ReadonlyArray<(bytes: number) => unknown> = [],
): APIGatewayProxyStructuredResultV2 {
  return encodeAnswer(status, body, 'json', acceptEncoding, smaller);
}

/**
 * Serializes a response as JSON or YAML (functions/http/negotiate.ts), gzipped when the client accepts it. A body
 * that would still not fit into a Lambda response is replaced by the first of `smaller` (given the size in bytes)
 * that fits (a write's answer: shorter forms of what was done, the last one always small), or else refused with a
 * Status that says how to ask for less, instead of failing at the gateway.
 */
export function encodeAnswer(
  status: number,
  body: unknown,
  format: AnswerFormat,
  acceptEncoding: string | undefined,
  smaller: ReadonlyArray<(bytes: number) => unknown> = [],
): APIGatewayProxyStructuredResultV2 {
  const text =
    // As JSON.stringify would: no anchors for repeated objects, undefined values left out.
    format === 'yaml' ? dumpYaml(body, { noRefs: true, skipInvalid: true }) : JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': format === 'yaml' ? 'application/yaml' : 'application/json',
  };
  const gzipOk = /\bgzip\b/i.test(acceptEncoding ?? '');
  if (gzipOk && text.length > GZIP_THRESHOLD) {
    const zipped = gzipSync(text).toString('base64');
    if (zipped.length <= MAX_RESPONSE_BYTES)
      return {
        statusCode: status,
        headers: { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
        body: zipped,
        isBase64Encoded: true,
      };
  } else if (Buffer.byteLength(text) <= MAX_RESPONSE_BYTES) {
    return { statusCode: status, headers, body: text };
  }
  const [next, ...rest] = smaller;
  if (next) return encodeAnswer(status, next(Buffer.byteLength(text)), format, acceptEncoding, rest);
  const err = tooLarge(
    `the response is ${Buffer.byteLength(text)} bytes, more than a response may carry; ${gzipOk ? '' : 'send Accept-Encoding: gzip, '}ask for less with ?historyLimit (stream views) or ?limit with continue (lists), or read single imagestreamtags`,
  );
  return {
    statusCode: err.code,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(err.toStatus()),
  };
}
