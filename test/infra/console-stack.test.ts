import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleStack } from '../../infra/console-stack';
import { ServiceStack } from '../../infra/service-stack';
import { StatefulStack } from '../../infra/stateful-stack';
import { buildConsole } from '../support/browser';

/** The console in AWS: a private bucket behind CloudFront (OAC), the API on the same origin, a strict CSP. */
let t: Template;
let json: string;

const assetsDir = mkdtempSync(join(tmpdir(), 'imagestreams-console-assets-'));
afterAll(() => rmSync(assetsDir, { recursive: true, force: true }));

beforeAll(() => {
  // Its own build: the browser test rebuilds dist/console meanwhile.
  buildConsole(assetsDir);
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stateful = new StatefulStack(app, 'Stateful');
  const service = new ServiceStack(app, 'Service', {
    table: stateful.table,
    secretsKey: stateful.secretsKey,
  });
  t = Template.fromStack(new ConsoleStack(app, 'Console', { api: service.api, assetsDir }));
  json = JSON.stringify(t.toJSON());
}, 120_000);

describe('ConsoleStack', () => {
  it('keeps the console in a private, encrypted, TLS-only bucket that only the distribution may read', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.anyValue(),
    });
    t.resourcePropertiesCountIs('AWS::S3::Bucket', { WebsiteConfiguration: Match.anyValue() }, 0);
    t.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ SigningBehavior: 'always', SigningProtocol: 'sigv4' }),
    });
    // The assets bucket's policy (the access-log bucket has one of its own).
    const policy = Object.values(t.findResources('AWS::S3::BucketPolicy')).find(
      (p: any) => !JSON.stringify(p.Properties.Bucket).includes('accesslogs'),
    ) as any;
    const statements = policy.Properties.PolicyDocument.Statement as any[];
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    // Nobody but CloudFront (and the deployment's own roles) reads it.
    expect(
      statements.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('"*"')),
    ).toEqual([]);
  });

  it('serves the API paths from the HTTP API on the same origin, uncached, with the Authorization header', () => {
    const dist = Object.values(t.findResources('AWS::CloudFront::Distribution'))[0] as any;
    const behaviors = dist.Properties.DistributionConfig.CacheBehaviors as any[];
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(['/api/*', '/apis/*', '/healthz']);
    for (const b of behaviors) {
      expect(b.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
      expect(b.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader
      expect(b.AllowedMethods).toContain('PUT');
      expect(b.ViewerProtocolPolicy).toBe('https-only');
    }
    expect(dist.Properties.DistributionConfig.DefaultCacheBehavior.ViewerProtocolPolicy).toBe(
      'redirect-to-https',
    );
  });

  it('sends a CSP allowing scripts and styles from the console only, and connections to it and the issuer', () => {
    const policy = Object.values(t.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0] as any;
    const csp = JSON.stringify(
      policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy,
    );
    expect(csp).toContain("default-src 'none'; script-src 'self'; style-src 'self'");
    expect(csp).toContain("connect-src 'self' ");
    expect(csp).toContain('{"Ref":"OidcIssuer"}');
    expect(csp).toContain('{"Ref":"ConsoleConnectSources"}');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });

  it('deploys the build and a config.json naming the issuer and the public client, no secret', () => {
    t.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'console/',
      Prune: true,
    });
    expect(json).toContain('config.json');
    expect(json).not.toMatch(/client_?secret/i);
    const outputs = t.toJSON().Outputs as Record<string, any>;
    expect(JSON.stringify(outputs.ConsoleUrl.Value)).toContain('/console/');
  });
});
