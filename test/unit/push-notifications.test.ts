import { describe, expect, it } from 'vitest';
import {
  NotificationError,
  type PushHint,
  parseEcrImageAction,
  parseWebhook,
  webhookAuthorized,
} from '../../functions/core/push/notifications';
// Real bodies from Debian's docker-registry 2.8.2 (distribution 2.8.2), pushed to with skopeo 1.9.3 and curl.
import captured from './fixtures/distribution-captured.json';
import distributionPush from './fixtures/distribution-push.json';
// Payloads as the vendors document them (Docker Hub, Harbor, Quay, AWS docs), adjusted where noted.
import dockerhubPush from './fixtures/dockerhub-push.json';
import ecrPush from './fixtures/ecr-push.json';
import harborCloudEventsPush from './fixtures/harbor-cloudevents-push.json';
import harborPush from './fixtures/harbor-push.json';
import quayPush from './fixtures/quay-push.json';

const MANIFEST = 'sha256:457f04d6a9e6db4a2b56e1d339db55551f94a0340b2784bc4d1b6d2d187e287a';
const ARM_MANIFEST = 'sha256:45932b32a45fe695f7372ac677f5c4ff90aaa859a8af9309347b2ff0f86b9b02';
const INDEX = 'sha256:40871dc064aac1ea0cca66a8d7cdd54c4d02b168ef1d1145e96324ea9f8537a3';
const CONFIG_BLOB = 'sha256:d3e1b854bc82c0875066f639f69a21eba49c3f5a5161dea0ddf7019025e6002e';
const D = `sha256:${'a'.repeat(64)}`;

const clone = <T>(x: T): T => structuredClone(x);
/** Every envelope of a captured sequence, one POST each, flattened as a receiver would see them. */
const distribution = (bodies: unknown[]): PushHint[] =>
  bodies.flatMap((b) => parseWebhook('distribution', b));

describe('parseWebhook distribution (real docker-registry 2.8.2 bodies)', () => {
  it('turns a manifest push by tag into one hint, registry from the URL host', () => {
    expect(parseWebhook('distribution', distributionPush)).toEqual([
      { registry: '127.0.0.1:5055', repository: 'team/app', tag: 'v1', digest: MANIFEST, action: 'push' },
    ]);
  });

  it('ignores the blob pushes that precede it (mediaType application/octet-stream, /blobs/ URL)', () => {
    const [layer, config] = captured.push;
    expect(layer!.events[0]!.target.mediaType).toBe('application/octet-stream');
    expect(parseWebhook('distribution', layer)).toEqual([]);
    expect(parseWebhook('distribution', config)).toEqual([]);
    expect(distribution(captured.push)).toHaveLength(1);
  });

  it('ignores a blob push even when it names a layer media type and has no URL', () => {
    const body = clone(distributionPush);
    const t = body.events[0]!.target as Record<string, unknown>;
    t.mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip';
    delete t.url;
    delete t.tag;
    expect(parseWebhook('distribution', body)).toEqual([]);
  });

  it('reports an index push and its untagged child manifests, not the blobs or the HEAD-probe pulls', () => {
    expect(distribution(captured.indexPush)).toEqual([
      { registry: 'localhost:5055', repository: 'team/app', digest: MANIFEST, action: 'push' },
      { registry: 'localhost:5055', repository: 'team/app', digest: ARM_MANIFEST, action: 'push' },
      { registry: 'localhost:5055', repository: 'team/app', tag: 'v2-multi', digest: INDEX, action: 'push' },
    ]);
  });

  it('ignores pull and mount events', () => {
    expect(captured.inspect.map((b) => b.events[0]!.action)).toEqual(['pull', 'pull']);
    expect(distribution(captured.inspect)).toEqual([]);
    const actions = captured.copyWithMount.map((b) => b.events[0]!.action);
    expect(actions).toContain('mount');
    expect(distribution(captured.copyWithMount)).toEqual([
      { registry: '127.0.0.1:5055', repository: 'other/app', tag: 'v1', digest: MANIFEST, action: 'push' },
    ]);
  });

  it('reports a manifest delete by digest and the per-tag delete that follows', () => {
    expect(distribution(captured.skopeoDelete)).toEqual([
      { registry: '127.0.0.1:5055', repository: 'team/app', digest: INDEX, action: 'delete' },
      { registry: '127.0.0.1:5055', repository: 'team/app', tag: 'v2-multi', action: 'delete' },
    ]);
  });

  it('cannot tell a blob delete from a manifest delete (both carry only the digest)', () => {
    expect(distribution(captured.blobDelete)).toEqual([
      { registry: '127.0.0.1:5055', repository: 'other/app', digest: CONFIG_BLOB, action: 'delete' },
    ]);
  });

  it('skips a delete that is certainly a blob (another implementation sending a /blobs/ URL)', () => {
    const body = clone(captured.blobDelete[0]!);
    (body.events[0]!.target as Record<string, unknown>).url =
      `http://127.0.0.1:5055/v2/other/app/blobs/${CONFIG_BLOB}`;
    expect(parseWebhook('distribution', body)).toEqual([]);
  });

  it('reports a repository delete (3.x: neither digest nor tag)', () => {
    const body = clone(captured.blobDelete[0]!);
    delete (body.events[0]!.target as Record<string, unknown>).digest;
    expect(parseWebhook('distribution', body)).toEqual([
      { registry: '127.0.0.1:5055', repository: 'other/app', action: 'delete' },
    ]);
  });

  it('prefers the URL host (X-Forwarded-Host, lower-cased) to request.host, which stays the raw Host', () => {
    const e = captured.forwardedHost[0]!.events[0]!;
    expect(e.request.host).toBe('127.0.0.1:5055');
    expect(e.target.url).toMatch(/^https:\/\/Registry\.Example\.COM\/v2\/team\/app\/manifests\//);
    expect(parseWebhook('distribution', captured.forwardedHost[0])).toEqual([
      {
        registry: 'registry.example.com',
        repository: 'team/app',
        tag: 'fwd',
        digest: MANIFEST,
        action: 'push',
      },
    ]);
  });

  it('falls back to request.host for relative URLs (http.relativeurls)', () => {
    const body = clone(distributionPush);
    body.events[0]!.target.url = `/v2/team/app/manifests/${MANIFEST}`;
    body.events[0]!.request.host = 'Reg.Example.com:5000';
    expect(parseWebhook('distribution', body)[0]!.registry).toBe('reg.example.com:5000');
  });

  it('handles several events in one envelope and extra fields', () => {
    const push = distributionPush.events[0]!;
    const del = captured.skopeoDelete[1]!.events[0]!;
    const body = { events: [push, { ...del, extra: { anything: true } }], future: 1 };
    expect(parseWebhook('distribution', body).map((h) => h.action)).toEqual(['push', 'delete']);
    expect(parseWebhook('distribution', { events: [] })).toEqual([]);
  });

  it.each([
    ['not an object', 'push', /expected a JSON object/],
    ['no events', {}, /malformed distribution notification: events/],
    ['events not a list', { events: {} }, /events/],
    ['no target.repository', { events: [{ action: 'push', target: {} }] }, /events\.0\.target\.repository/],
    [
      'no host anywhere',
      { events: [{ action: 'delete', target: { repository: 'team/app', digest: D } }] },
      /neither target\.url nor request\.host/,
    ],
    [
      'bad repository name',
      {
        events: [
          { action: 'delete', target: { repository: 'Team/App', digest: D }, request: { host: 'r:5000' } },
        ],
      },
      /invalid repository name "Team\/App"/,
    ],
    [
      'manifest push without digest',
      {
        events: [
          {
            action: 'push',
            target: { repository: 'team/app', mediaType: 'application/vnd.oci.image.manifest.v1+json' },
            request: { host: 'r:5000' },
          },
        ],
      },
      /manifest push without target\.digest/,
    ],
  ])('rejects a malformed body: %s', (_name, body, message) => {
    expect(() => parseWebhook('distribution', body)).toThrow(NotificationError);
    expect(() => parseWebhook('distribution', body)).toThrow(message);
  });
});

describe('parseWebhook dockerhub', () => {
  it('turns the documented payload into a docker.io hint without digest', () => {
    expect(parseWebhook('dockerhub', dockerhubPush)).toEqual([
      { registry: 'docker.io', repository: 'svendowideit/testhook', tag: 'latest', action: 'push' },
    ]);
  });

  it('puts one-word (official) repositories under library/', () => {
    const body = clone(dockerhubPush);
    Object.assign(body.repository, { repo_name: 'nginx', namespace: 'library', name: 'nginx' });
    expect(parseWebhook('dockerhub', body)[0]!.repository).toBe('library/nginx');
    Object.assign(body.repository, { repo_name: 'library/nginx' });
    expect(parseWebhook('dockerhub', body)[0]!.repository).toBe('library/nginx');
  });

  it('falls back to namespace/name and tolerates a missing tag', () => {
    const body = {
      push_data: { pushed_at: 1, pusher: 'me', tag: '' },
      repository: { namespace: 'me', name: 'x' },
    };
    expect(parseWebhook('dockerhub', body)).toEqual([
      { registry: 'docker.io', repository: 'me/x', action: 'push' },
    ]);
  });

  it('rejects bodies without push_data or a repository name', () => {
    expect(() => parseWebhook('dockerhub', { repository: { repo_name: 'a/b' } })).toThrow(/push_data/);
    expect(() => parseWebhook('dockerhub', { push_data: {}, repository: {} })).toThrow(NotificationError);
    expect(() =>
      parseWebhook('dockerhub', { push_data: { tag: 'a b' }, repository: { repo_name: 'a/b' } }),
    ).toThrow(/invalid tag/);
  });
});

describe('parseWebhook harbor', () => {
  it('reads the Default payload: host (with port) from resource_url, repository from repo_full_name', () => {
    expect(parseWebhook('harbor', harborPush)).toEqual([
      {
        registry: 'harbor.example.com:8443',
        repository: 'team/app',
        tag: 'v1.2.0',
        digest: 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4',
        action: 'push',
      },
    ]);
  });

  it('reads the CloudEvents payload; a digest in `tag` (untagged push) is no tag', () => {
    expect(parseWebhook('harbor', harborCloudEventsPush)).toEqual([
      {
        registry: 'localhost',
        repository: 'harbor/alpine',
        digest: 'sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4',
        action: 'push',
      },
    ]);
  });

  it('maps deletes (Default, CloudEvents and Harbor 1.x names) and ignores other event types', () => {
    const del = clone(harborPush);
    del.type = 'DELETE_ARTIFACT';
    expect(parseWebhook('harbor', del)[0]!.action).toBe('delete');
    const ce = clone(harborCloudEventsPush);
    ce.type = 'harbor.artifact.deleted';
    expect(parseWebhook('harbor', ce)[0]!.action).toBe('delete');
    const legacy = clone(harborPush);
    legacy.type = 'pushImage';
    expect(parseWebhook('harbor', legacy)[0]!.action).toBe('push');
    for (const type of [
      'PULL_ARTIFACT',
      'SCANNING_COMPLETED',
      'harbor.artifact.pulled',
      'QUOTA_EXCEED',
      'toString',
    ])
      expect(parseWebhook('harbor', { type, event_data: { whatever: 1 } })).toEqual([]);
  });

  it('takes the repository from resource_url when repo_full_name is absent', () => {
    const body = clone(harborPush) as any;
    delete body.event_data.repository;
    body.event_data.resources[0].resource_url =
      'https://Harbor.Example.com/proj/sub/app@sha256:' + 'b'.repeat(64);
    expect(parseWebhook('harbor', body)[0]).toMatchObject({
      registry: 'harbor.example.com',
      repository: 'proj/sub/app',
    });
  });

  it('rejects malformed bodies', () => {
    expect(() => parseWebhook('harbor', { event_data: {} })).toThrow(/malformed Harbor webhook: type/);
    expect(() => parseWebhook('harbor', { type: 'PUSH_ARTIFACT' })).toThrow(NotificationError);
    expect(() =>
      parseWebhook('harbor', {
        type: 'PUSH_ARTIFACT',
        event_data: { resources: [{ tag: 'v1', digest: D }] },
      }),
    ).toThrow(/resource_url is missing/);
    expect(() =>
      parseWebhook('harbor', {
        type: 'PUSH_ARTIFACT',
        event_data: { resources: [{ resource_url: 'nohost' }] },
      }),
    ).toThrow(/cannot tell registry and repository/);
  });
});

describe('parseWebhook quay', () => {
  it('gives one hint per updated tag, host and repository from docker_url', () => {
    expect(parseWebhook('quay', quayPush)).toEqual([
      { registry: 'quay.io', repository: 'dgangaia/test', tag: 'latest', action: 'push' },
      { registry: 'quay.io', repository: 'dgangaia/test', tag: 'v2', action: 'push' },
    ]);
  });

  it('reads the early {tag: image} updated_tags map and self-hosted hosts with ports', () => {
    const body = {
      ...quayPush,
      docker_url: 'Quay.Corp.example:8443/ns/repo',
      updated_tags: { latest: 'b750fe79' },
    };
    expect(parseWebhook('quay', body)).toEqual([
      { registry: 'quay.corp.example:8443', repository: 'ns/repo', tag: 'latest', action: 'push' },
    ]);
  });

  it('still hints at the repository when no tag was updated', () => {
    expect(parseWebhook('quay', { ...quayPush, updated_tags: [] })).toEqual([
      { registry: 'quay.io', repository: 'dgangaia/test', action: 'push' },
    ]);
  });

  it('rejects malformed bodies', () => {
    expect(() => parseWebhook('quay', { repository: 'a/b' })).toThrow(/docker_url/);
    expect(() => parseWebhook('quay', { docker_url: 'quay.io/a/b', updated_tags: 'latest' })).toThrow(
      NotificationError,
    );
    expect(() => parseWebhook('quay', [])).toThrow(/expected a JSON object/);
  });
});

describe('parseEcrImageAction', () => {
  const ecr = (detail: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...clone(ecrPush),
    ...extra,
    detail: { ...ecrPush.detail, ...detail },
  });

  it('turns a PUSH with a tag into a hint on the account/region registry', () => {
    expect(parseEcrImageAction(ecrPush)).toEqual([
      {
        registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
        repository: 'my-repository-name',
        tag: 'latest',
        digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
        action: 'push',
      },
    ]);
  });

  it('handles a PUSH without a tag (child manifest, push by digest) and nested repository names', () => {
    const event = ecr({ 'image-tag': undefined, 'repository-name': 'team/app' });
    expect(parseEcrImageAction(event)).toEqual([
      {
        registry: '123456789012.dkr.ecr.us-west-2.amazonaws.com',
        repository: 'team/app',
        digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
        action: 'push',
      },
    ]);
  });

  it('maps DELETE and uses amazonaws.com.cn in China regions', () => {
    expect(parseEcrImageAction(ecr({ 'action-type': 'DELETE' }, { region: 'cn-north-1' }))).toEqual([
      expect.objectContaining({
        registry: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn',
        action: 'delete',
      }),
    ]);
  });

  it('ignores failed actions, other action types and other events', () => {
    expect(parseEcrImageAction(ecr({ result: 'FAILURE' }))).toEqual([]);
    expect(parseEcrImageAction(ecr({ 'action-type': 'PULL' }))).toEqual([]);
    expect(parseEcrImageAction(ecr({}, { 'detail-type': 'ECR Image Scan' }))).toEqual([]);
    expect(parseEcrImageAction(ecr({}, { source: 'aws.s3' }))).toEqual([]);
  });

  it('rejects malformed events', () => {
    expect(() => parseEcrImageAction(null)).toThrow(NotificationError);
    expect(() => parseEcrImageAction(ecr({}, { account: 'abc' }))).toThrow(
      /account: expected a 12-digit account id/,
    );
    expect(() => parseEcrImageAction(ecr({ 'repository-name': undefined }))).toThrow(
      /detail\.repository-name/,
    );
    expect(() => parseEcrImageAction({ source: 'aws.ecr', 'detail-type': 'ECR Image Action' })).toThrow(
      NotificationError,
    );
  });
});

describe('parseWebhook generally', () => {
  it('rejects an unknown format and non-object bodies with a NotificationError that is a 400', () => {
    expect(() => parseWebhook('gitlab' as never, {})).toThrow(/unknown notification format/);
    for (const body of [null, undefined, 42, 'x', []])
      expect(() => parseWebhook('quay', body)).toThrow(NotificationError);
    try {
      parseWebhook('distribution', {});
    } catch (e) {
      expect(e).toBeInstanceOf(NotificationError);
      expect((e as NotificationError).code).toBe(400);
      expect((e as NotificationError).name).toBe('NotificationError');
    }
  });
});

describe('webhookAuthorized', () => {
  const secret = 's3cret-Value';

  it('accepts Bearer (any case of the scheme), the raw header value, and the query token', () => {
    expect(webhookAuthorized(secret, `Bearer ${secret}`, undefined)).toBe(true);
    expect(webhookAuthorized(secret, `bearer  ${secret}`, undefined)).toBe(true);
    expect(webhookAuthorized(secret, secret, undefined)).toBe(true);
    expect(webhookAuthorized(secret, undefined, secret)).toBe(true);
    expect(webhookAuthorized(secret, 'Bearer wrong', secret)).toBe(true);
  });

  it('rejects wrong, missing, prefixed or differently sized credentials', () => {
    expect(webhookAuthorized(secret, undefined, undefined)).toBe(false);
    expect(webhookAuthorized(secret, 'Bearer wrong', 'wrong')).toBe(false);
    expect(webhookAuthorized(secret, `Basic ${secret}`, undefined)).toBe(false);
    expect(webhookAuthorized(secret, `Bearer ${secret}x`, undefined)).toBe(false);
    expect(webhookAuthorized(secret, 's3cret', undefined)).toBe(false);
    expect(webhookAuthorized(secret, undefined, `${secret}${secret}`)).toBe(false);
    expect(webhookAuthorized(secret, '', '')).toBe(false);
    expect(webhookAuthorized(secret, 'Bearer ', undefined)).toBe(false);
    expect(webhookAuthorized(secret, undefined, secret.toUpperCase())).toBe(false);
  });

  it('never authorizes with an empty secret', () => {
    expect(webhookAuthorized('', '', '')).toBe(false);
    expect(webhookAuthorized('', 'Bearer ', undefined)).toBe(false);
    expect(webhookAuthorized('', undefined, '')).toBe(false);
  });
});
