import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { validateStreamName } from '../../functions/core/imagestream/validation';
import { routes } from '../../functions/http/routes';
import { createDocumentClient } from '../../functions/store/dynamodb-client';
import { type Api, startStack } from '../support/local-stack';

/**
 * Property-based fuzzing of every write endpoint (functions/http/routes.ts, plus the registry webhooks) through
 * HTTP against the local stack: hostile bodies, names, keys, query strings, content types and tokens. Properties:
 * no answer is a 5xx; after any non-2xx answer the table is exactly as before (a Scan of the test's own table);
 * a body in a media type the endpoint does not take is never accepted; every stream in the table has a name
 * POST imagestreams accepts. Bounded in requests and in time; FUZZ_SEED replays a run; FUZZ_RUNS and FUZZ_TIME_MS widen it.
 */

const NS = 'fz';
const TOKEN = 'fuzz-token-0123456789';
const WEBHOOK_SECRET = 'fuzz-webhook-secret-0123';
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_MS ?? 30_000);
const REQUEST_TIMEOUT_MS = 10_000;
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const numRuns = Number(process.env.FUZZ_RUNS ?? 1200);

let api: Api;
let stack: Awaited<ReturnType<typeof startStack>>;
let registry: Server;
let registryHost: string;
const realFetch = globalThis.fetch;
let blockedFetches = 0;

/** Nothing leaves loopback: the service's registry client binds this fetch when the stack starts. */
function loopbackOnly(): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      blockedFetches++;
      return Promise.reject(new TypeError(`fuzz: refused a request to ${url.host}, which is not loopback`));
    }
    return realFetch(input, init);
  };
}

beforeAll(async () => {
  // A registry that knows nothing: imports the fuzz allows fail fast, on loopback.
  registry = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}');
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
  globalThis.fetch = loopbackOnly();
  stack = await startStack({
    LOCAL_TOKENS: JSON.stringify({ [TOKEN]: { user: 'fuzzer', groups: [] } }),
    ALLOWED_REGISTRIES_FOR_IMPORT: registryHost,
    INSECURE_REGISTRIES: registryHost,
    IMPORT_CONTROLLER: 'off',
    SCHEDULER: 'off',
    // No background work between a request and the snapshot after it: the change processor sleeps through the
    // run, pushes are re-checked at once (and awaited), and nothing is scheduled.
    STREAM_POLL_MS: '600000',
    PUSH_COALESCE_SECONDS: '0',
    WEBHOOK_SECRET,
  });
  api = stack.api.as(TOKEN);
  // The fuzzer's own project, with one of each object for updates, patches and deletes to find.
  for (const [path, body] of seedObjects()) {
    const res = await api.post(path, body);
    expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  globalThis.fetch = realFetch;
  await stack?.stop();
  await new Promise((r) => registry?.close(r));
});

const dockerConfig = JSON.stringify({ auths: { 'r.example:5000': { username: 'u', password: 'p' } } });
const IMG = `/apis/image.openshift.io/v1/namespaces/${NS}`;
function seedObjects(): Array<[string, unknown]> {
  return [
    ['/apis/project.openshift.io/v1/projectrequests', { metadata: { name: NS } }],
    [
      `${IMG}/imagestreams`,
      {
        metadata: { name: 's' },
        spec: { tags: [{ name: 'a', from: { kind: 'DockerImage', name: 'quay.io/x/y:1' } }] },
      },
    ],
    [
      `/api/v1/namespaces/${NS}/secrets`,
      {
        metadata: { name: 'sec' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': dockerConfig },
      },
    ],
    [
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      {
        metadata: { name: 'rb' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'User', name: 'someone' }],
      },
    ],
  ];
}

// --- generators ---------------------------------------------------------------------------------------------
// Each field is mostly valid and sometimes hostile, so requests reach every layer: routing, access, decoding,
// validation, the store.

/** Placeholder for the loopback registry's host, filled in when the body is sent (the port is known only then). */
const registryHostPlaceholder = '@REGISTRY@';
/** Text nested `depth` levels deep (built as text: JSON.stringify of this process would overflow first). */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const HEX = 'a'.repeat(64);

/** Valid values most of the time, a hostile one now and then. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>, weight = 8) =>
  fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: hostile });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });

const hostileString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'A',
    '-a',
    '.',
    '..',
    '__proto__',
    'constructor',
    'toString',
    'a%00b',
    'a\u0000b',
    '\u{1F600}',
    'x'.repeat(300),
    'x'.repeat(1100),
    'y'.repeat(70_000),
    '%E0%A4%A',
    'a:b:c',
    `s@sha256:${HEX}`,
    'null',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
/** Keys users choose (labels, annotations, data, image labels): valid ones include prototype names. */
const userKey = mostly(
  fc.constantFrom(
    'a',
    'app.kubernetes.io/name',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'prototype',
  ),
  fc.oneof(
    fc.constantFrom('__proto__', '$patch', '', 'p'.repeat(300), 'a/b/c', '-x'),
    fc.string({ maxLength: 20 }),
  ),
  3,
);
const userMap = fc.dictionary(
  userKey,
  mostly(
    fc.constantFrom('x', '', 'v1.0', 'constructor'),
    fc.oneof(hostileString, fc.jsonValue({ maxDepth: 2 })),
  ),
  { maxKeys: 4 },
);
const nameArb = mostly(
  fc.constantFrom('s', 't', 'new-1', 'app.v2', 'constructor', 'tostring'),
  hostileString,
);
const tagNameArb = mostly(fc.constantFrom('a', 'b', 'latest', 'v1.0', 'constructor'), hostileString);
const fromName = mostly(
  fc.constantFrom('s:a', 'a', 'quay.io/x/y:1', `quay.io/x/y@sha256:${HEX}`),
  fc.oneof(
    fc.constantFrom(
      `s@sha256:${HEX}`,
      `${'x'.repeat(1100)}:t`,
      `s:${'y'.repeat(1100)}`,
      `s@${'f'.repeat(1100)}`,
    ),
    hostileString,
  ),
  3,
);
const meta = fc.record(
  {
    name: nameArb,
    namespace: mostly(fc.constant(NS), fc.constantFrom('other', '', 'Bad_NS')),
    labels: userMap,
    annotations: userMap,
    generateName: maybe(fc.constantFrom('gen-', 'A', 'x'.repeat(300))),
    resourceVersion: maybe(fc.constantFrom('1', '2', '99', 'abc', '')),
    uid: maybe(fc.constantFrom('forged', '')),
  },
  { requiredKeys: ['name'] },
);
const tagRef = fc.record(
  {
    name: tagNameArb,
    annotations: fc.option(userMap, { nil: null }),
    from: fc.record(
      {
        kind: mostly(
          fc.constantFrom('DockerImage', 'ImageStreamTag'),
          fc.constantFrom('ImageStreamImage', 'Junk', 'constructor'),
        ),
        name: fromName,
        namespace: maybe(mostly(fc.constant(NS), fc.constantFrom('other', 'Bad_NS', 'x'.repeat(100)))),
      },
      { requiredKeys: ['kind', 'name'] },
    ),
    reference: fc.boolean(),
    importPolicy: maybe(
      fc.record(
        {
          scheduled: fc.boolean(),
          insecure: fc.boolean(),
          importMode: mostly(fc.constant('Legacy'), fc.constant('x')),
        },
        { requiredKeys: [] },
      ),
    ),
    referencePolicy: maybe(fc.record({ type: mostly(fc.constantFrom('Source', 'Local'), fc.constant('x')) })),
    generation: maybe(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double())),
  },
  { requiredKeys: ['name', 'from'] },
);
const kindArb = (kind: string) => maybe(mostly(fc.constant(kind), fc.constant('Junk')));
const imageStream = fc.record(
  {
    kind: kindArb('ImageStream'),
    metadata: meta,
    spec: fc.record(
      {
        tags: fc.array(tagRef, { maxLength: 3 }),
        lookupPolicy: fc.record({ local: fc.boolean() }),
        dockerImageRepository: maybe(fromName),
      },
      { requiredKeys: [] },
    ),
    extra: maybe(fc.jsonValue({ maxDepth: 3 })),
  },
  { requiredKeys: ['metadata'] },
);
const imageStreamTag = fc.record(
  {
    kind: kindArb('ImageStreamTag'),
    metadata: fc.record(
      {
        name: mostly(fc.constantFrom('s:a', 's:b', 'new:a', 's:constructor'), hostileString),
        annotations: userMap,
        namespace: meta.map((m) => m.namespace),
      },
      { requiredKeys: [] },
    ),
    tag: mostly(tagRef, fc.constant(undefined), 8),
  },
  { requiredKeys: ['metadata'] },
);
const digestArb = mostly(
  fc.constant(`sha256:${HEX}`),
  fc.oneof(fc.constant(`sha256:${'b'.repeat(3000)}`), hostileString),
);
const mapping = fc.record(
  {
    metadata: fc.record(
      { name: mostly(fc.constant('s'), nameArb), namespace: meta.map((m) => m.namespace) },
      { requiredKeys: ['name'] },
    ),
    tag: tagNameArb,
    image: fc.record(
      {
        metadata: fc.record({ name: digestArb, labels: userMap }, { requiredKeys: ['name'] }),
        dockerImageReference: mostly(fc.constant(`quay.io/x/y@sha256:${HEX}`), fromName),
        dockerImageMetadata: fc.oneof(
          fc.constant({ Config: { Labels: { constructor: { name: 'Set' } } } }),
          fc.record({ Config: fc.record({ Labels: userMap }) }),
        ),
      },
      { requiredKeys: ['metadata'] },
    ),
  },
  { requiredKeys: ['metadata', 'image'] },
);
const imports = fc.record(
  {
    metadata: meta,
    spec: fc.record(
      {
        import: fc.boolean(),
        images: fc.array(
          fc.record(
            {
              from: fc.record({
                kind: mostly(fc.constant('DockerImage'), fc.constant('ImageStreamTag')),
                name: mostly(fc.constant(`${registryHostPlaceholder}/x/y:1`), fromName),
              }),
              to: maybe(fc.record({ name: tagNameArb })),
              includeManifest: fc.boolean(),
            },
            { requiredKeys: ['from'] },
          ),
          { maxLength: 3 },
        ),
        repository: maybe(
          fc.record({
            from: fc.record({
              kind: fc.constant('DockerImage'),
              name: fc.constant(`${registryHostPlaceholder}/x`),
            }),
          }),
        ),
        unknown: maybe(fc.jsonValue({ maxDepth: 4 })),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['metadata'] },
);
const secret = fc.record(
  {
    metadata: meta,
    type: mostly(
      fc.constant('kubernetes.io/dockerconfigjson'),
      fc.constantFrom('kubernetes.io/dockercfg', 'Opaque', 'constructor', 'toString'),
    ),
    data: maybe(userMap),
    stringData: mostly(
      fc.constant({ '.dockerconfigjson': dockerConfig }),
      fc.oneof(fc.record({ '.dockerconfigjson': hostileString }), userMap),
    ),
  },
  { requiredKeys: ['metadata'] },
);
const subject = fc.record(
  {
    kind: mostly(fc.constantFrom('User', 'Group', 'ServiceAccount'), fc.constantFrom('Robot', 'constructor')),
    name: mostly(
      fc.constantFrom('alice', 'builder', 'constructor', 'arn:aws:iam::123456789012:role/x'),
      fc.oneof(hostileString, fc.constant('u'.repeat(5000))),
    ),
    namespace: maybe(mostly(fc.constant(NS), fc.constantFrom('Bad_NS', ''))),
    apiGroup: maybe(fc.constantFrom('rbac.authorization.k8s.io', '', 'x')),
  },
  { requiredKeys: ['kind', 'name'] },
);
const roleBinding = fc.record(
  {
    metadata: meta,
    roleRef: fc.record({
      apiGroup: mostly(fc.constant('rbac.authorization.k8s.io'), fc.constant('x')),
      kind: mostly(fc.constant('ClusterRole'), fc.constant('Role')),
      name: mostly(
        fc.constantFrom('view', 'edit', 'admin'),
        fc.constantFrom('constructor', 'toString', 'cluster-admin'),
      ),
    }),
    subjects: fc.array(subject, { maxLength: 3 }),
  },
  { requiredKeys: ['metadata', 'roleRef'] },
);
const projectRequest = fc.record(
  {
    metadata: fc.record({ name: mostly(fc.constantFrom('fz2', 'fz3'), hostileString) }),
    displayName: maybe(hostileString),
    description: maybe(hostileString),
  },
  { requiredKeys: ['metadata'] },
);
const deleteOptions = fc.record({
  preconditions: fc.record(
    { uid: fc.constantFrom('forged', ''), resourceVersion: fc.constantFrom('1', '99', 'x') },
    { requiredKeys: [] },
  ),
});
const mergePatch = fc.record(
  {
    metadata: fc.record(
      {
        labels: fc.option(userMap, { nil: null }),
        annotations: userMap,
        uid: fc.constant('forged'),
        resourceVersion: fc.constantFrom('1', '99'),
        name: nameArb,
      },
      { requiredKeys: [] },
    ),
    spec: fc.record(
      {
        tags: fc.array(fc.oneof(tagRef, fc.constant({ name: 'a', $patch: 'delete' })), { maxLength: 3 }),
        x: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    ),
    status: maybe(fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: [] },
);
const jsonPatch = fc.array(
  fc.record(
    {
      op: mostly(
        fc.constantFrom('add', 'replace', 'remove', 'test'),
        fc.constantFrom('move', 'copy', 'junk'),
      ),
      path: fc.constantFrom(
        '/metadata/labels/constructor',
        '/metadata/labels/a',
        '/__proto__/x',
        '/constructor/prototype/x',
        '/metadata/__proto__/polluted',
        '/spec/tags/0',
        '/spec/tags/-',
        '/metadata/uid',
        '/metadata/name',
        '',
        '/a/b/c',
      ),
      value: fc.jsonValue({ maxDepth: 2 }),
      from: fc.constantFrom('/metadata/labels', '/spec'),
    },
    { requiredKeys: ['op', 'path'] },
  ),
  { maxLength: 3 },
);
const webhookBody = fc.oneof(
  fc.record({
    events: fc.array(
      fc.record(
        {
          action: fc.constantFrom('push', 'pull', 'delete'),
          target: fc.record(
            {
              mediaType: fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'x'),
              repository: mostly(fc.constant('x/y'), fc.oneof(fc.constant('a'.repeat(3000)), hostileString)),
              tag: tagNameArb,
              digest: digestArb,
              url: fc.constantFrom('http://r.example:5000/v2/x/y/manifests/1', 'junk'),
            },
            { requiredKeys: [] },
          ),
          request: fc.record({ host: mostly(fc.constant('r.example:5000'), hostileString) }),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
  }),
  fc.record({
    repository: fc.record({ repo_name: hostileString }),
    push_data: fc.record({ tag: tagNameArb }),
  }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Bodies that are not JSON objects of any kind, or not JSON at all. */
const rawBody = fc.constantFrom(
  nested(65),
  nested(10_000),
  `{"spec":{"x":${nested(10_000)}}}`,
  `[{"op":"add","path":"/spec/x","value":${nested(10_000)}}]`,
  `{"metadata":{"name":"deep"},"spec":{"import":true,"images":[{"from":{"kind":"DockerImage","name":"${registryHostPlaceholder}/x:1"}}],"x":${nested(10_000)}}}`,
  '{not json',
  '',
  'null',
  '[]',
  '"str"',
  '<ImageStream/>',
  'a=b&c=d',
  '{"metadata":{"name":"s","labels":{"__proto__":"x"}}}',
  '{"__proto__":{"polluted":true}}',
);

type BodyKind = keyof typeof bodyArbs;
const bodyArbs = {
  imagestreams: imageStream,
  imagestreamtags: imageStreamTag,
  imagestreammappings: mapping,
  imagestreamimports: imports,
  secrets: secret,
  rolebindings: roleBinding,
  projectrequests: projectRequest,
  delete: deleteOptions,
  patch: fc.oneof(mergePatch, jsonPatch),
  webhook: webhookBody,
};

const HOSTILE_CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
  'application/vnd.docker.distribution.events.v1+json',
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  ';;;',
];
const QUERIES = [
  '',
  '?dryRun=All',
  '?resourceVersion=1',
  '?x=%E0%A4%A',
  `?fieldManager=${'x'.repeat(300)}`,
  '?limit=-1',
];

const writeRoutes = routes.filter((r) => r.method !== 'GET');

interface FuzzRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: string | undefined;
  auth: 'fuzzer' | 'none' | 'wrong' | 'webhook';
  /** Ask for an uncompressed answer (the largest a write can have). */
  identity?: boolean;
  /** What to delete after the answer, so one large object does not slow every later snapshot. */
  cleanup?: string;
}

function pathParam(kind: 'ns' | 'name', resource: string) {
  const valid =
    kind === 'ns'
      ? fc.constant(NS)
      : resource === 'imagestreamtags'
        ? fc.constantFrom(
            's:a',
            's:b',
            'new:a',
            's:constructor',
            'A:a',
            '__proto__:a',
            `s:${'y'.repeat(1100)}`,
            'no-colon',
            'a:b:c',
          )
        : resource === 'projects'
          ? fc.constantFrom('fz2', 'fz3', 'other')
          : fc.constantFrom('s', 'sec', 'rb', 'new-1', 'constructor');
  return fc.oneof(
    { weight: 20, arbitrary: valid.map(encodeURIComponent) },
    { weight: 2, arbitrary: hostileString.filter((s) => s !== '').map(encodeURIComponent) },
    // Raw, as a client might put them in a URL: malformed percent-encoding, encoded slashes, dots.
    { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%2F', '..', '%00', 'x'.repeat(3000)) },
  );
}

const routeRequest: fc.Arbitrary<FuzzRequest> = fc
  .constantFrom(...writeRoutes)
  .chain((route) => {
    const kind: BodyKind =
      route.method === 'PATCH'
        ? 'patch'
        : route.method === 'DELETE'
          ? 'delete'
          : Object.hasOwn(bodyArbs, route.resource)
            ? (route.resource as BodyKind)
            : 'imagestreams';
    // What clients send: the patch types for PATCH, JSON for everything else.
    const typical =
      route.method === 'PATCH'
        ? fc.constantFrom(
            'application/merge-patch+json',
            'application/json-patch+json',
            'application/strategic-merge-patch+json',
          )
        : fc.constant('application/json');
    return fc.record({
      route: fc.constant(route),
      ns: pathParam('ns', route.resource),
      name: pathParam('name', route.resource),
      query: mostly(fc.constant(''), fc.constantFrom(...QUERIES)),
      contentType: fc.oneof(
        { weight: 10, arbitrary: typical },
        { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_CONTENT_TYPES) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      body: fc.oneof(
        { weight: 10, arbitrary: (bodyArbs[kind] as fc.Arbitrary<unknown>).map((value) => ({ value })) },
        { weight: 1, arbitrary: rawBody.map((text) => ({ text })) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      // Most bodies name the object of the path, as clients send them.
      nameInBody: mostly(fc.constant(true), fc.constant(false)),
      auth: mostly(
        fc.constant<FuzzRequest['auth']>('fuzzer'),
        fc.constantFrom<FuzzRequest['auth']>('none', 'wrong'),
        10,
      ),
    });
  })
  .map(({ route, ns, name, query, contentType, body, nameInBody, auth }) => {
    let text: string | undefined;
    if (body && 'text' in body) text = body.text;
    else if (body) {
      const value = body.value as { metadata?: { name?: unknown } } | null;
      if (
        nameInBody &&
        route.path.includes('{name}') &&
        value?.metadata &&
        typeof value.metadata === 'object'
      )
        value.metadata.name = safeDecode(name);
      text = JSON.stringify(value);
    }
    return {
      method: route.method,
      path: route.path.replace('{ns}', ns).replace('{name}', name) + query,
      contentType,
      body: text,
      auth,
    };
  });

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const webhookRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: mostly(fc.constant('POST'), fc.constant('PUT')),
  path: fc
    .record({
      format: mostly(
        fc.constantFrom('distribution', 'dockerhub', 'harbor', 'quay'),
        fc.constantFrom('%E0%A4%A', 'nope', 'constructor', '__proto__'),
      ),
      query: mostly(fc.constant(''), fc.constantFrom(`?token=${WEBHOOK_SECRET}`, '?token=wrong')),
    })
    .map(({ format, query }) => `/webhooks/${format}${query}`),
  contentType: mostly(
    fc.constantFrom('application/json', 'application/vnd.docker.distribution.events.v1+json'),
    fc.constantFrom('text/plain', undefined),
  ),
  body: mostly(
    webhookBody.map((b) => JSON.stringify(b)),
    rawBody,
  ),
  auth: mostly(
    fc.constant<FuzzRequest['auth']>('webhook'),
    fc.constantFrom<FuzzRequest['auth']>('none', 'wrong'),
  ),
});

/**
 * Requests that would succeed but for one thing: the media type, the stream name an istag write creates, a
 * uid a patch forges, a nesting an import cannot answer. Fresh names keep creates from colliding.
 */
const CREATABLE_STREAMS = ['A', '-a', '.', '__proto__', 'a%00b', 'a\u0000b', '\u{1F600}', 'x'.repeat(300)];
const almostValid: fc.Arbitrary<FuzzRequest> = fc
  .record({
    n: fc.nat(),
    contentType: mostly(fc.constant('application/json'), fc.constantFrom(...HOSTILE_CONTENT_TYPES), 2),
    stream: mostly(fc.constant('fresh'), fc.constantFrom(...CREATABLE_STREAMS), 1),
    which: fc.oneof(
      { weight: 100, arbitrary: fc.constantFrom('stream', 'istag', 'secret', 'import', 'patch-uid') },
      { weight: 1, arbitrary: fc.constant('large') },
    ),
  })
  .map(({ n, contentType, stream, which }): FuzzRequest => {
    const name = `g${n}`;
    const auth = 'fuzzer';
    const dockerImage = { kind: 'DockerImage', name: 'quay.io/x/y:1' };
    switch (which) {
      case 'stream':
        return {
          method: 'POST',
          path: `${IMG}/imagestreams`,
          contentType,
          body: JSON.stringify({ metadata: { name } }),
          auth,
        };
      case 'istag': {
        const target = stream === 'fresh' ? name : stream;
        return {
          method: 'PUT',
          path: `${IMG}/imagestreamtags/${encodeURIComponent(`${target}:t`)}`,
          contentType,
          body: JSON.stringify({ tag: { name: 't', from: dockerImage } }),
          auth,
        };
      }
      case 'secret':
        return {
          method: 'POST',
          path: `/api/v1/namespaces/${NS}/secrets`,
          contentType,
          body: JSON.stringify({
            metadata: { name },
            type: 'kubernetes.io/dockerconfigjson',
            stringData: { '.dockerconfigjson': dockerConfig },
          }),
          auth,
        };
      case 'import':
        return {
          method: 'POST',
          path: `${IMG}/imagestreamimports`,
          contentType,
          body: `{"metadata":{"name":"${name}"},"spec":{"import":true,"images":[{"from":{"kind":"DockerImage","name":"${registryHostPlaceholder}/x:1"},"to":{"name":"t"}}]${n % 2 ? `,"x":${nested(10_000)}` : ''}}}`,
          auth,
        };
      case 'large': {
        // 155 tags of 38.5 KB annotations: a 6 MB object, in chunks each under DynamoDB's 4 MB, whose uncompressed
        // answer is more than a response may carry.
        const note = 'n'.repeat(38_500);
        const tags = Array.from({ length: 155 }, (_, i) => ({
          name: `t${i}`,
          annotations: { note },
          from: dockerImage,
        }));
        return {
          method: 'POST',
          path: `${IMG}/imagestreams`,
          contentType,
          body: JSON.stringify({ metadata: { name }, spec: { tags } }),
          auth,
          identity: true,
          cleanup: `${IMG}/imagestreams/${name}`,
        };
      }
      default:
        return {
          method: 'PATCH',
          path: `${IMG}/imagestreams/s`,
          contentType: contentType === 'application/json' ? 'application/merge-patch+json' : contentType,
          body: JSON.stringify({ metadata: { uid: `forged-${n}` } }),
          auth,
        };
    }
  });

const fuzzRequest = fc.oneof(
  { weight: 6, arbitrary: routeRequest },
  { weight: 3, arbitrary: almostValid },
  { weight: 1, arbitrary: webhookRequest },
);

// --- the table and the properties ---------------------------------------------------------------------------

const db = createDocumentClient({ endpoint: inject('dynamodbEndpoint') });

/** Every item of the test's table, in key order, as canonical JSON: two equal snapshots mean nothing changed. */
async function snapshot(): Promise<{ text: string; items: Array<Record<string, unknown>> }> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({ TableName: stack.table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const key = (i: Record<string, unknown>) => `${i.PK}\u0000${i.SK}`;
  items.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { text: canonical(items), items };
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v instanceof Set) return `set(${[...v].map(canonical).sort().join(',')})`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}

function changedKeys(
  before: Array<Record<string, unknown>>,
  after: Array<Record<string, unknown>>,
): string[] {
  const index = (items: Array<Record<string, unknown>>) =>
    new Map(items.map((i) => [`${i.PK} ${i.SK}`, canonical(i)]));
  const b = index(before);
  const a = index(after);
  return [...new Set([...b.keys(), ...a.keys()])].filter((k) => b.get(k) !== a.get(k)).slice(0, 5);
}

async function send(req: FuzzRequest): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (req.auth === 'fuzzer') headers.authorization = `Bearer ${TOKEN}`;
  if (req.auth === 'wrong') headers.authorization = 'Bearer wrong-token';
  if (req.auth === 'webhook') headers.authorization = `Bearer ${WEBHOOK_SECRET}`;
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  if (req.identity) headers['accept-encoding'] = 'identity';
  const body = req.body?.replaceAll(registryHostPlaceholder, registryHost);
  const res = await realFetch(`${api.url}${req.path}`, {
    method: req.method,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

const describeRequest = (r: FuzzRequest, status: number | string, extra = '') =>
  `${r.method} ${r.path.slice(0, 160)} [${r.contentType ?? 'no content-type'}, ${r.auth}] ${(r.body ?? '').slice(0, 200)} → ${status} ${extra}`.slice(
    0,
    700,
  );

describe('fuzzing every write endpoint', () => {
  it(
    'never answers 5xx, and a non-2xx answer changes nothing',
    async () => {
      const counts = {
        requests: 0,
        answers2xx: 0,
        answers4xx: 0,
        answers5xx: 0,
        noAnswer: 0,
        writesAfterNon2xx: 0,
        acceptedUnsupportedType: 0,
      };
      const findings: string[] = [];
      const byStatus = new Map<number, number>();
      let before = await snapshot();
      await fc.assert(
        fc.asyncProperty(fuzzRequest, async (req) => {
          counts.requests++;
          let status: number;
          let text = '';
          try {
            ({ status, text } = await send(req));
          } catch (e) {
            counts.noAnswer++;
            findings.push(describeRequest(req, 'no answer', String(e)));
            await stack.service.jobsIdle();
            before = await snapshot();
            return true;
          }
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
          await stack.service.jobsIdle();
          const after = await snapshot();
          if (status >= 500) {
            counts.answers5xx++;
            findings.push(describeRequest(req, status, text.slice(0, 200)));
          } else if (status >= 200 && status < 300) counts.answers2xx++;
          else counts.answers4xx++;
          if ((status < 200 || status >= 300) && after.text !== before.text) {
            counts.writesAfterNon2xx++;
            findings.push(
              describeRequest(req, status, `changed: ${changedKeys(before.items, after.items).join('; ')}`),
            );
          }
          const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
          const jsonLike = type === '' || type === 'application/json' || type.endsWith('+json');
          if (status >= 200 && status < 300 && req.body?.trim() && !jsonLike) {
            counts.acceptedUnsupportedType++;
            findings.push(describeRequest(req, status, 'accepted a body type the endpoint does not take'));
          }
          if (req.cleanup) {
            await realFetch(`${api.url}${req.cleanup}`, {
              method: 'DELETE',
              headers: { authorization: `Bearer ${TOKEN}` },
            });
            await stack.service.jobsIdle();
            before = await snapshot();
          } else before = after;
          return true;
        }),
        { numRuns, seed, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] },
      );

      // One name validation for every path that can create a stream: the table holds no name POST would refuse.
      const invalidStreams = before.items
        .filter((i) => i.SK === 'IS' && typeof i.PK === 'string' && i.PK.startsWith('IS#'))
        .map((i) => (i.PK as string).slice(3))
        .filter((path) => {
          const slash = path.indexOf('/');
          return validateStreamName(path.slice(0, slash), path.slice(slash + 1)).length > 0;
        });

      console.log(
        `fuzz (seed ${seed}): ${counts.requests} requests tried (${counts.answers2xx} 2xx, ${counts.answers4xx} 4xx); ` +
          `5xx: ${counts.answers5xx}; writes after a non-2xx answer: ${counts.writesAfterNon2xx}; ` +
          `no answer within ${REQUEST_TIMEOUT_MS / 1000} s: ${counts.noAnswer}; ` +
          `2xx for a body type the endpoint does not take: ${counts.acceptedUnsupportedType}; ` +
          `streams with names POST imagestreams refuses: ${invalidStreams.length}; non-loopback fetches refused: ${blockedFetches}`,
      );
      console.log(
        `  answers by status: ${[...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}`,
      );
      for (const f of findings.slice(0, 15)) console.log(`  ${f}`);
      expect(counts.requests).toBeGreaterThan(100);
      expect(findings.slice(0, 5)).toEqual([]);
      expect(invalidStreams).toEqual([]);
      expect(counts).toMatchObject({
        answers5xx: 0,
        writesAfterNon2xx: 0,
        noAnswer: 0,
        acceptedUnsupportedType: 0,
      });
    },
    TIME_LIMIT_MS + 90_000,
  );
});
