import { fileURLToPath } from 'node:url';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type IHttpRouteAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AppFunction } from './constructs/app-function';

export interface ServiceStackProps extends StackProps {
  table: ITableV2;
  internalRegistryHostname?: string;
  externalRegistryHostname?: string;
}

const entry = (path: string) => fileURLToPath(new URL(`../functions/${path}`, import.meta.url));

/**
 * Who may call the API. One place, so the access-control work can swap in a JWT authorizer (keeping IAM for
 * machines) without touching the routes.
 */
function apiAuthorizer(): IHttpRouteAuthorizer {
  return new HttpIamAuthorizer();
}

/** The stateless part: the HTTP API and its function. */
export class ServiceStack extends Stack {
  readonly api: HttpApi;
  readonly apiFunction: AppFunction;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.apiFunction = new AppFunction(this, 'api-fn', {
      entry: entry('handlers/api.ts'),
      description: 'imagestreams HTTP API (image.openshift.io/v1)',
      environment: {
        RUNTIME_MODE: 'aws',
        ...(props.internalRegistryHostname
          ? { INTERNAL_REGISTRY_HOSTNAME: props.internalRegistryHostname }
          : {}),
        ...(props.externalRegistryHostname
          ? { EXTERNAL_REGISTRY_HOSTNAME: props.externalRegistryHostname }
          : {}),
      },
    });
    this.apiFunction.bindTable(props.table, 'RW');

    this.api = new HttpApi(this, 'http-api', {
      description: 'imagestreams API',
      createDefaultStage: true,
    });
    const integration = new HttpLambdaIntegration('api-integration', this.apiFunction);
    this.api.addRoutes({
      path: '/{proxy+}',
      methods: [HttpMethod.ANY],
      integration,
      authorizer: apiAuthorizer(),
    });
    this.api.addRoutes({
      path: '/healthz',
      methods: [HttpMethod.GET],
      integration,
      authorizer: new HttpNoneAuthorizer(),
    });

    const accessLogs = new LogGroup(this, 'api-access-logs', { retention: RetentionDays.ONE_MONTH });
    const stage = this.api.defaultStage?.node.defaultChild as CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        caller: '$context.identity.userArn',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
      }),
    };
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
  }
}
