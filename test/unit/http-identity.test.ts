import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { identityOf as reexported } from '../../functions/http/api';
import { configuredClaimNames, identityOf, parseGroups, routePath } from '../../functions/http/identity';

function event(authorizer?: Record<string, unknown>, rawPath = '/apis/image.openshift.io/v1/imagestreams') {
  return {
    version: '2.0',
    routeKey: 'ANY /{proxy+}',
    rawPath,
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method: 'GET', path: rawPath }, ...(authorizer ? { authorizer } : {}) },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const jwt = (claims: Record<string, unknown>) => event({ jwt: { claims, scopes: null } });
const iam = (rawPath?: string) =>
  event(
    {
      iam: {
        accessKey: 'AKIA',
        accountId: '123456789012',
        callerId: 'AROA:codebuild',
        cognitoIdentity: null,
        principalOrgId: '',
        userArn: 'arn:aws:sts::123456789012:assumed-role/codebuild/build',
        userId: 'AROA:codebuild',
      },
    },
    rawPath,
  );
const cognito = { user: 'cognito:username', groups: 'cognito:groups' };

describe('identityOf', () => {
  it('is re-exported from api.ts', () => {
    expect(reexported).toBe(identityOf);
  });

  it('takes the local server identity, groups as an array or a JSON string, plus system:authenticated', () => {
    expect(identityOf(event({ lambda: { user: 'dev', groups: ['devs'] } }))).toEqual({
      user: 'dev',
      groups: ['devs', 'system:authenticated'],
    });
    expect(
      identityOf(
        event({ lambda: { user: 'admin', groups: '["system:cluster-admins","system:authenticated"]' } }),
      ),
    ).toEqual({ user: 'admin', groups: ['system:cluster-admins', 'system:authenticated'] });
  });

  it('takes a JWT user from the configured claim, falling back to sub', () => {
    expect(identityOf(jwt({ sub: 'abc-123', 'cognito:username': 'alice' }), cognito)?.user).toBe('alice');
    expect(identityOf(jwt({ sub: 'abc-123' }), cognito)?.user).toBe('abc-123');
    expect(identityOf(jwt({ sub: 'repo:acme/app:ref:refs/heads/main' }))).toEqual({
      user: 'repo:acme/app:ref:refs/heads/main',
      groups: ['system:authenticated'],
    });
  });

  it.each([
    ['API Gateway flattened array', '[admins devs]'],
    ['JSON array string', '["admins","devs"]'],
    ['space-separated string', 'admins devs'],
    ['comma-separated string', 'admins, devs'],
    ['array', ['admins', 'devs']],
  ])('reads JWT groups given as a %s', (_, groups) => {
    expect(identityOf(jwt({ sub: 'u', 'cognito:groups': groups }), cognito)).toEqual({
      user: 'u',
      groups: ['admins', 'devs', 'system:authenticated'],
    });
  });

  it('reads a single group and no group', () => {
    expect(identityOf(jwt({ sub: 'u', groups: 'devs' }))?.groups).toEqual(['devs', 'system:authenticated']);
    expect(identityOf(jwt({ sub: 'u', groups: '[]' }))?.groups).toEqual(['system:authenticated']);
    expect(identityOf(jwt({ sub: 'u' }))?.groups).toEqual(['system:authenticated']);
  });

  it('drops system: groups a token claims (only the service grants those)', () => {
    expect(identityOf(jwt({ sub: 'u', groups: '[system:masters devs]' }))?.groups).toEqual([
      'devs',
      'system:authenticated',
    ]);
  });

  it('takes an IAM caller by ARN, in system:authenticated and system:iam', () => {
    expect(identityOf(iam())).toEqual({
      user: 'arn:aws:sts::123456789012:assumed-role/codebuild/build',
      groups: ['system:authenticated', 'system:iam'],
    });
  });

  it('finds no identity without an authorizer, or without a user', () => {
    expect(identityOf(event())).toBeUndefined();
    expect(identityOf(event({}))).toBeUndefined();
    expect(identityOf(event({ lambda: {} }))).toBeUndefined();
    expect(identityOf(jwt({ groups: 'devs' }))).toBeUndefined();
    expect(identityOf(event({ iam: { userArn: '' } }))).toBeUndefined();
  });

  it('defaults the claim names to sub and groups (env JWT_USER_CLAIM / JWT_GROUPS_CLAIM unset)', () => {
    expect(configuredClaimNames()).toEqual({ user: 'sub', groups: 'groups' });
    expect(identityOf(jwt({ sub: 'u', groups: '[devs]' }))?.groups).toEqual(['devs', 'system:authenticated']);
  });
});

describe('parseGroups', () => {
  it('ignores what is not a list of names', () => {
    expect(parseGroups(undefined)).toEqual([]);
    expect(parseGroups(42)).toEqual([]);
    expect(parseGroups('  ')).toEqual([]);
    expect(parseGroups(['a', 1, ''])).toEqual(['a']);
  });
});

describe('routePath', () => {
  it('strips /iam from requests the IAM authorizer let in', () => {
    expect(routePath(iam('/iam/apis/image.openshift.io/v1/imagestreams'))).toBe(
      '/apis/image.openshift.io/v1/imagestreams',
    );
    expect(routePath(iam('/iam/healthz'))).toBe('/healthz');
  });

  it('leaves every other path alone', () => {
    expect(routePath(iam('/apis/x'))).toBe('/apis/x');
    expect(routePath(iam('/iamx/y'))).toBe('/iamx/y');
    expect(routePath(jwt({ sub: 'u' }))).toBe('/apis/image.openshift.io/v1/imagestreams');
    expect(routePath(event({ jwt: { claims: { sub: 'u' } } }, '/iam/apis/x'))).toBe('/iam/apis/x');
    expect(routePath(event({ lambda: { user: 'dev' } }, '/iam/apis/x'))).toBe('/iam/apis/x');
    expect(routePath(event(undefined, '/iam/apis/x'))).toBe('/iam/apis/x');
  });
});
