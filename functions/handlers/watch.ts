import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { OidcVerifier } from '../aws/oidc-verifier';
import { serviceContext } from '../composition/service-context';
import { readServiceConfig, requireSetting } from '../config';
import { type HttpPrelude, type ResponseStream, streamingHandler } from '../http/streaming';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';

/** What the Lambda Node.js runtime provides to response-streaming functions (a global there, absent elsewhere). */
interface LambdaStreaming {
  streamifyResponse(
    handler: (event: APIGatewayProxyEventV2, stream: ResponseStream, context: Context) => Promise<void>,
  ): unknown;
  HttpResponseStream: { from: HttpPrelude };
}
/** Present in Lambda's Node.js runtime only (other code may put a partial `awslambda` there, hence the checks). */
const runtime = (globalThis as unknown as { awslambda?: Partial<LambdaStreaming> }).awslambda;

/**
 * Lambda entry of the watch function (a function URL in response-streaming mode, docs/watch.md): watches and other
 * reads, with the JWT checked here since no API Gateway authorizer fronts it. Built once per container.
 */
const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
const ctx = serviceContext(config, {
  watch: {
    pollMs: config.WATCH_POLL_MS,
    retentionMs: config.WATCH_RETENTION_SECONDS * 1000,
    gapGraceMs: 5_000,
    maxSeconds: config.WATCH_MAX_SECONDS,
  },
  metrics: telemetry.metrics,
  tracing: telemetry.tracing,
});
const oidc = new OidcVerifier(requireSetting(config, 'OIDC_ISSUER'), config.OIDC_AUDIENCE);
const verify = (token: string) => oidc.verify(token);
// The prelude is looked up per response: loaded outside Lambda (a bundle timed for its start), there is none.
const prelude: HttpPrelude = (stream, meta) =>
  (runtime as LambdaStreaming).HttpResponseStream.from(stream, meta);
export const handler =
  typeof runtime?.streamifyResponse === 'function'
    ? runtime.streamifyResponse(streamingHandler(ctx, verify, prelude, telemetry.log))
    : () => {
        throw new Error('the watch function runs in the Lambda Node.js runtime (response streaming)');
      };
