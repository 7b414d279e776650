import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { tooLarge } from '../core/errors';

/** Lambda's synchronous response limit is 6 MB; keep headroom for headers and the JSON envelope. */
export const MAX_RESPONSE_BYTES = 5_800_000;
const GZIP_THRESHOLD = 1024;

/**
 * Serializes a JSON response, gzipped when the client accepts it. A body that would still not fit into a
 * Lambda response is replaced by the first of `smaller` (given the size in bytes) that fits (a write's answer:
 * shorter forms of what was done, the last one always small), or else refused with a Status that says how to ask
 * for less, instead of failing at the gateway.
 */
export function encodeJson(
  status: number,
  body: unknown,
  acceptEncoding: string | undefined,
  smaller: ReadonlyArray<(bytes: number) => unknown> = [],
): APIGatewayProxyStructuredResultV2 {
  const json = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const gzipOk = /\bgzip\b/i.test(acceptEncoding ?? '');
  if (gzipOk && json.length > GZIP_THRESHOLD) {
    const zipped = gzipSync(json).toString('base64');
    if (zipped.length <= MAX_RESPONSE_BYTES)
      return {
        statusCode: status,
        headers: { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
        body: zipped,
        isBase64Encoded: true,
      };
  } else if (Buffer.byteLength(json) <= MAX_RESPONSE_BYTES) {
    return { statusCode: status, headers, body: json };
  }
  const [next, ...rest] = smaller;
  if (next) return encodeJson(status, next(Buffer.byteLength(json)), acceptEncoding, rest);
  const err = tooLarge(
    `the response is ${Buffer.byteLength(json)} bytes, more than a response may carry; ${gzipOk ? '' : 'send Accept-Encoding: gzip, '}ask for less with ?historyLimit (stream views) or ?limit with continue (lists), or read single imagestreamtags`,
  );
  return { statusCode: err.code, headers, body: JSON.stringify(err.toStatus()) };
}
