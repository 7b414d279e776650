import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  type BundlingOptions,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { tableDefinition } from '../../functions/store/table-definition';

/**
 * esbuild options of every function bundle, exported so the bundle-size test builds exactly what CDK deploys.
 * ESM with everything bundled (the AWS SDK too): one file, no node_modules lookups at cold start.
 */
/**
 * Modules swapped in every Lambda bundle: the SDK's default credential chain becomes the environment provider (the
 * only source Lambda uses; functions/aws/lambda-credentials.ts says why), and `semver`, which only the X-Ray SDK's
 * AWS SDK v2 patcher calls, becomes the one function it needs (functions/aws/xray-semver.ts).
 */
export const lambdaAliases = {
  '@aws-sdk/credential-provider-node': fileURLToPath(
    new URL('../../functions/aws/lambda-credentials.ts', import.meta.url),
  ),
  semver: fileURLToPath(new URL('../../functions/aws/xray-semver.ts', import.meta.url)),
};

export const bundlingDefaults = {
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  // No --keep-names (it wrapped every function and class in a naming call: about 57 KiB of the API bundle). Stack
  // traces keep their names through the source map (NODE_OPTIONS=--enable-source-maps, below), and nothing the
  // bundles run reads a class's generated name: the errors set theirs, the SDK names commands explicitly.
  keepNames: false,
  externalModules: [] as string[],
  // Some bundled CommonJS dependencies call require(); ESM output needs it defined.
  banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
  forceDockerBundling: false,
  esbuildArgs: { '--alias': Object.entries(lambdaAliases).map(([from, to]) => `${from}=${to}`) },
} satisfies BundlingOptions;

/** DynamoDB actions per access mode: exactly what the store uses, on the table and its indexes. */
export const tableActions = {
  RO: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'],
  RW: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:ConditionCheckItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
  ],
} as const;

/** One DynamoDB action the store may use. */
export type TableAction = (typeof tableActions.RW)[number];

/** The table's indexes, by name: a grant names each (no `index/*` wildcard). */
export const TABLE_INDEX_NAMES = [
  tableDefinition.gsi1.indexName,
  tableDefinition.gsi2.indexName,
  tableDefinition.gsi3.indexName,
] as const;

export interface BindTableOptions {
  /** Grant the actions on the table's indexes too (`<table ARN>/index/<name>`, each). @default true */
  indexes?: boolean;
}

export interface AppFunctionProps
  extends Omit<NodejsFunctionProps, 'runtime' | 'architecture' | 'bundling' | 'logGroup'> {
  entry: string;
  logRetention?: RetentionDays;
}

/**
 * A Lambda function of this service: Node 22 on arm64, an ESM bundle, its own log group, X-Ray active tracing, env
 * merged not replaced.
 * Its role starts empty but for writing that log group (no AWSLambdaBasicExecutionRole, whose log actions are on
 * every log group); everything else is granted by the stack.
 */
export class AppFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}-logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role =
      props.role ??
      new Role(scope, `${id}-role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      ...props,
      role,
      // Node 22: the version the local stack and the tests run on (the pinned `node` devDependency) and the
      // bundles target; docs/operations.md, "Runtime".
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      // X-Ray traces of every invocation (Lambda's own segments; the SDK clients' subsegments come with the
      // tracer wiring in the handlers).
      tracing: Tracing.ACTIVE,
      handler: props.handler ?? 'handler',
      timeout: props.timeout ?? Duration.seconds(29),
      memorySize: props.memorySize ?? 1024,
      logGroup,
      bundling: bundlingDefaults,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    });
  }

  /**
   * Grants exactly the table actions of `access` (a mode, or the few actions a function uses) on the table and,
   * unless `indexes: false`, its indexes, and tells the function the table's name.
   */
  bindTable(
    table: ITableV2,
    access: keyof typeof tableActions | readonly TableAction[],
    options: BindTableOptions = {},
  ): void {
    const actions = typeof access === 'string' ? tableActions[access] : access;
    if (actions.length === 0) throw new Error(`${this.node.path}: bindTable needs at least one action`);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: [...actions],
        resources: [
          table.tableArn,
          ...(options.indexes === false ? [] : TABLE_INDEX_NAMES.map((i) => `${table.tableArn}/index/${i}`)),
        ],
      }),
    );
    this.addEnvironment('TABLE_NAME', table.tableName);
  }
}
