import type { Writable } from 'node:stream';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { OidcVerifier } from '../aws/oidc-verifier';
import { pullContext } from '../composition/registry-context';
import { serviceContext } from '../composition/service-context';
import { readServiceConfig, requireSetting } from '../config';
import { jwtIdentity } from '../http/identity';
import { createRegistryDispatcher, type RegistryDispatcher } from '../http/registry';
import { registryStreamingHandler } from '../http/registry-lambda';
import { lambdaTelemetry } from '../telemetry/lambda-telemetry';

/** The Node.js runtime's response streaming API (a Lambda function URL in RESPONSE_STREAM mode). */
interface LambdaStreaming {
  streamifyResponse(
    handler: (event: APIGatewayProxyEventV2, responseStream: Writable) => Promise<void>,
  ): unknown;
  HttpResponseStream: {
    from(stream: Writable, meta: { statusCode: number; headers?: Record<string, string> }): Writable;
  };
}
/** Present in Lambda's Node.js runtime only (other code may put a partial `awslambda` there, hence the checks). */
const runtime = (globalThis as { awslambda?: Partial<LambdaStreaming> }).awslambda;

/**
 * Lambda entry of the registry (docs/registry.md): `/v2/` behind a function URL that streams its responses, so
 * blobs pass through without being held (up to Lambda's streamed response limit). The function verifies the
 * API's OIDC JWTs itself (a function URL has no JWT authorizer) and signs registry tokens with a key from Secrets
 * Manager. One log line per request: method, path, status, duration; never headers or the query.
 */
const config = readServiceConfig();
const telemetry = lambdaTelemetry(config.LOG_LEVEL);
requireSetting(config, 'SECRETS_KMS_KEY_ARN');
const oidc = new OidcVerifier(requireSetting(config, 'OIDC_ISSUER'), config.OIDC_AUDIENCE);
const ctx = serviceContext(config, { metrics: telemetry.metrics, tracing: telemetry.tracing });
const pull = pullContext(config, ctx, telemetry.log, {
  metrics: telemetry.metrics,
  tracing: telemetry.tracing,
});
const tokenSecretArn = requireSetting(config, 'REGISTRY_TOKEN_SECRET_ARN');

let dispatcher: Promise<RegistryDispatcher> | undefined;
function registry(): Promise<RegistryDispatcher> {
  dispatcher ??= new SecretsManagerClient({})
    .send(new GetSecretValueCommand({ SecretId: tokenSecretArn }))
    .then((r) => {
      if (!r.SecretString || r.SecretString.length < 32)
        throw new Error('the registry token key is too short');
      return createRegistryDispatcher({
        ctx: pull,
        authenticate: async (token) => {
          const claims = await oidc.verify(token);
          return claims ? jwtIdentity(claims) : undefined;
        },
        tokenKey: Buffer.from(r.SecretString, 'utf8'),
      });
    })
    .catch((e: unknown) => {
      dispatcher = undefined;
      throw e;
    });
  return dispatcher;
}

const serve = registryStreamingHandler({
  registry,
  host: (event) => config.INTERNAL_REGISTRY_HOSTNAME ?? event.requestContext.domainName,
  start: (stream, meta) => (runtime as LambdaStreaming).HttpResponseStream.from(stream, meta),
  log: (entry) => {
    telemetry.log(entry);
    telemetry.flush();
  },
});

// Outside Lambda (a bundle loaded to time its start) there is no runtime to wrap the handler with.
export const handler =
  typeof runtime?.streamifyResponse === 'function' ? runtime.streamifyResponse(serve) : serve;
