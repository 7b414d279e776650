import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CfnOutput, CfnParameter, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  type BehaviorOptions,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { acknowledgeConsoleFindings } from './nag-suppressions';

export interface ConsoleStackProps extends StackProps {
  /** The service's HTTP API: CloudFront forwards the API's paths to it, so the console and the API share an origin. */
  api: IHttpApi;
  /** The console's production build; default dist/console (`npm run build`). */
  assetsDir?: string;
}

/** Where the console lives in the bucket and on the distribution. */
const PREFIX = 'console';

/** The API's paths the console calls; everything else on the distribution is the console (S3). */
const API_PATHS = ['/apis/*', '/api/*', '/healthz'];

/**
 * `/` and `/console` lead to `/console/`; a path ending in `/` is its index.html (S3 behind OAC has no index
 * documents).
 */
const INDEX_REWRITE = `function handler(event) {
  var r = event.request;
  if (r.uri === '/' || r.uri === '/${PREFIX}') {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: '/${PREFIX}/' } } };
  }
  if (r.uri.endsWith('/')) r.uri += 'index.html';
  return r;
}`;

/**
 * The web console in AWS: its static files in a private S3 bucket that only this CloudFront distribution may read
 * (origin access control), and the API's paths forwarded to the service's HTTP API on the same distribution, so
 * the browser talks to one origin: no CORS, and a Content-Security-Policy whose connect-src is that origin plus
 * the sign-in provider. Users sign in against the same OIDC issuer as the API (authorization code + PKCE; a
 * public client, so the bundle holds no secret). See docs/console.md.
 */
export class ConsoleStack extends Stack {
  readonly bucket: Bucket;
  /** Access logs of the distribution and of the assets bucket (kept 90 days, retained with the stack). */
  readonly logBucket: Bucket;
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: ConsoleStackProps) {
    super(scope, id, props);
    const assetsDir = props.assetsDir ?? fileURLToPath(new URL('../dist/console', import.meta.url));
    if (!existsSync(`${assetsDir}/index.html`))
      throw new Error(`ConsoleStack: no console build in ${assetsDir}; run npm run build (npm ci does it)`);

    const issuer = new CfnParameter(this, 'OidcIssuer', {
      type: 'String',
      description:
        'The OIDC issuer users sign in with: the same value as ImageStreams-Service OidcIssuer (its discovery document must allow CORS, as Cognito, Okta, Entra ID and Auth0 do)',
      allowedPattern: '^https://[^\\s/]+(/[^\\s]*)?$',
      constraintDescription: 'must be an https:// URL',
    });
    const clientId = new CfnParameter(this, 'ConsoleClientId', {
      type: 'String',
      default: '',
      description:
        "The console's OIDC client: a public client (no secret) allowing the authorization code flow with PKCE and the redirect URI in the ConsoleUrl output; its id must be one of ImageStreams-Service OidcAudience. Empty: the console asks for a token instead.",
    });
    const connectSources = new CfnParameter(this, 'ConsoleConnectSources', {
      type: 'String',
      default: '',
      allowedPattern: '^(https://[A-Za-z0-9.-]+(:[0-9]+)?( https://[A-Za-z0-9.-]+(:[0-9]+)?)*)?$',
      constraintDescription: 'must be space-separated https:// origins, or empty',
      description:
        "Other origins the console may call, space-separated: the provider's token endpoint when it is not on the issuer's host (Cognito: https://<domain>.auth.<region>.amazoncognito.com)",
    });

    this.logBucket = new Bucket(this, 'access-logs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // CloudFront's standard logs are written with an ACL grant to the log-delivery account, and only to
      // SSE-S3 buckets.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'assets', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3-assets/',
      // Only build output lives here: rebuilt by every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const issuerOrigin = Fn.join('', ['https://', Fn.select(2, Fn.split('/', issuer.valueAsString))]);
    const csp = Fn.join('', [
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; ",
      "connect-src 'self' ",
      issuerOrigin,
      ' ',
      connectSources.valueAsString,
      "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ]);
    const headers = new ResponseHeadersPolicy(this, 'security-headers', {
      comment: 'imagestreams console: CSP and security headers',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: csp, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });

    const rewrite = new CloudFrontFunction(this, 'index-rewrite', {
      code: FunctionCode.fromInline(INDEX_REWRITE),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'imagestreams console: / and directories to index.html',
    });

    // The API: never cached, every viewer header but Host (Authorization among them) passed on.
    const apiHost = Fn.select(2, Fn.split('/', props.api.apiEndpoint));
    const apiBehavior: BehaviorOptions = {
      origin: new HttpOrigin(apiHost),
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: AllowedMethods.ALLOW_ALL,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };

    this.distribution = new Distribution(this, 'cdn', {
      comment: 'imagestreams console and API',
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
      additionalBehaviors: Object.fromEntries(API_PATHS.map((p) => [p, apiBehavior])),
    });

    const consoleUrl = `https://${this.distribution.distributionDomainName}/${PREFIX}/`;
    new BucketDeployment(this, 'deploy', {
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${PREFIX}/`,
      sources: [
        Source.asset(assetsDir),
        // The API is this origin; sign-in goes to the issuer (read at runtime, so one build serves every stack).
        Source.jsonData('config.json', {
          apiBase: '',
          oidcIssuer: issuer.valueAsString,
          oidcClientId: clientId.valueAsString,
        }),
      ],
      // Browsers revalidate (a 304 is cheap), so an index.html never outlives the assets it names.
      cacheControl: [CacheControl.noCache()],
      distribution: this.distribution,
      distributionPaths: [`/${PREFIX}/index.html`, `/${PREFIX}/config.json`, `/${PREFIX}/`],
      prune: true,
    });

    acknowledgeConsoleFindings(this);

    new CfnOutput(this, 'ConsoleUrl', {
      value: consoleUrl,
      description: 'The console; also the redirect URI to register for the ConsoleClientId client',
    });
    new CfnOutput(this, 'ConsoleApiUrl', {
      value: `https://${this.distribution.distributionDomainName}`,
      description: 'The API through the same distribution (the ImageStreams-Service ApiUrl works as well)',
    });
  }
}
