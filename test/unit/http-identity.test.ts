import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { identityOf as reexported } from '../../functions/http/api';
import {
  configuredClaimNames,
  iamRoleGroup,
  identityOf,
  parseGroups,
  routePath,
} from '../../functions/http/identity';

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
const iam = (rawPath?: string, userArn = 'arn:aws:sts::123456789012:assumed-role/codebuild/build') =>
  event(
    {
      iam: {
        accessKey: 'AKIA',
        accountId: '123456789012',
        callerId: 'AROA:codebuild',
        cognitoIdentity: null,
        principalOrgId: '',
        userArn,
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

  it('takes an assumed-role caller by ARN, in its role, system:authenticated and system:iam', () => {
    expect(identityOf(iam())).toEqual({
      user: 'arn:aws:sts::123456789012:assumed-role/codebuild/build',
      groups: ['arn:aws:iam::123456789012:role/codebuild', 'system:authenticated', 'system:iam'],
    });
  });

  it('puts every session of one role (a CodeBuild build each) in the same role group', () => {
    const builds = ['AWSCodeBuild-0b1f7c2e', 'AWSCodeBuild-9d3a51aa'].map((session) =>
      identityOf(iam(undefined, `arn:aws:sts::123456789012:assumed-role/my-codebuild-role/${session}`)),
    );
    expect(builds[0]?.user).not.toBe(builds[1]?.user);
    for (const b of builds) expect(b?.groups).toContain('arn:aws:iam::123456789012:role/my-codebuild-role');
  });

  it('gives an IAM user, the root user and a federated user no role group', () => {
    for (const userArn of [
      'arn:aws:iam::123456789012:user/ci',
      'arn:aws:iam::123456789012:user/division/ci',
      'arn:aws:iam::123456789012:root',
      'arn:aws:sts::123456789012:federated-user/bob',
    ])
      expect(identityOf(iam(undefined, userArn)), userArn).toEqual({
        user: userArn,
        groups: ['system:authenticated', 'system:iam'],
      });
  });

  it('refuses a JWT user in the IAM namespace and drops arn: groups a token claims', () => {
    expect(identityOf(jwt({ sub: 'arn:aws:iam::123456789012:user/ci' }))).toBeUndefined();
    expect(
      identityOf(jwt({ sub: 'u', username: 'arn:aws:iam::123456789012:user/ci' }), {
        user: 'username',
        groups: 'groups',
      }),
    ).toBeUndefined();
    expect(
      identityOf(jwt({ sub: 'u', groups: ['arn:aws:iam::123456789012:role/my-codebuild-role', 'devs'] })),
    ).toEqual({ user: 'u', groups: ['devs', 'system:authenticated'] });
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

describe('iamRoleGroup', () => {
  it.each([
    ['arn:aws:sts::123456789012:assumed-role/r/s', 'arn:aws:iam::123456789012:role/r'],
    ['arn:aws-cn:sts::123456789012:assumed-role/r/s', 'arn:aws-cn:iam::123456789012:role/r'],
    [
      'arn:aws-us-gov:sts::123456789012:assumed-role/codebuild-app-service-role/AWSCodeBuild-1234',
      'arn:aws-us-gov:iam::123456789012:role/codebuild-app-service-role',
    ],
    ['arn:aws:sts::123456789012:assumed-role/a+=,.@-_b/s+=,.@-_', 'arn:aws:iam::123456789012:role/a+=,.@-_b'],
  ])('names %s by its role: %s', (userArn, group) => {
    expect(iamRoleGroup(userArn)).toBe(group);
  });

  it.each([
    'arn:aws:iam::123456789012:user/ci',
    'arn:aws:iam::123456789012:role/r',
    'arn:aws:sts::123456789012:assumed-role/r',
    'arn:aws:sts::123456789012:assumed-role//s',
    'arn:aws:sts::12345:assumed-role/r/s',
    'arn:aws:sts:us-east-1:123456789012:assumed-role/r/s',
    'arn:aws:sts::123456789012:assumed-role/r/s/extra',
    'xarn:aws:sts::123456789012:assumed-role/r/s',
  ])('gives %s no role group', (userArn) => {
    expect(iamRoleGroup(userArn)).toBeUndefined();
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
