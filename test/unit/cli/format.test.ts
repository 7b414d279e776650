import { describe, expect, it } from 'vitest';
import { serverUrl } from '../../../cli/config';
import {
  describeImage,
  describeImageStream,
  followTagReference,
  historyTable,
  humanSize,
  imageStreamRow,
  imageStreamTagRow,
  listedRepository,
  tagSource,
  tagsByUpdate,
  tagsUpToWidth,
} from '../../../cli/format/imagestreams';
import { tabbed } from '../../../cli/format/tabwriter';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000).toISOString().replace('.000', '');
const D = (c: string) => `sha256:${c.repeat(64)}`;

const statusTag = (tag: string, created?: string) => ({
  tag,
  items: created
    ? [{ created, dockerImageReference: `q.io/x@${D('a')}`, image: D('a'), generation: 1 }]
    : null,
});

function stream(over: Record<string, any> = {}): any {
  return {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: 'ruby', namespace: 'p', creationTimestamp: minutesAgo(60), ...over.metadata },
    spec: { lookupPolicy: { local: false }, ...over.spec },
    status: { dockerImageRepository: 'reg.internal:5000/p/ruby', ...over.status },
  };
}

describe('tabbed (Go text/tabwriter as oc describe configures it, tabs expanded)', () => {
  it('pads a column to its widest cell plus one, rounded up to the next multiple of 8', () => {
    expect(tabbed('Name:\truby\nImage Repository:\tr/p/ruby')).toBe(
      'Name:                   ruby\nImage Repository:       r/p/ruby',
    );
    // 7 characters + 1 of padding fill one tab stop exactly; 8 need a second.
    expect(tabbed('1234567\tx\n1\ty')).toBe('1234567 x\n1       y');
    expect(tabbed('12345678\tx')).toBe('12345678        x');
  });

  it('a line without a tab ends the column block; the next block is sized on its own', () => {
    expect(tabbed('a:\t1\nplain line\nmuch longer label:\t2')).toBe(
      'a:      1\nplain line\nmuch longer label:      2',
    );
  });

  it('nested columns within a block, empty leading cells and multi-byte text', () => {
    expect(tabbed('Layers:\t100B\tsha256:a\n\t1.234kB\tsha256:b\nArch:\tamd64')).toBe(
      ['Layers: 100B    sha256:a', '        1.234kB sha256:b', 'Arch:   amd64'].join('\n'),
    );
    expect(tabbed('é:\tx\nab:\ty')).toBe('é:      x\nab:     y');
    expect(tabbed('')).toBe('');
  });
});

describe('oc get is columns', () => {
  it('orders tags by their newest event, newest first, ties by name, tags without events last', () => {
    expect(
      tagsByUpdate([
        statusTag('b', minutesAgo(5)),
        statusTag('empty'),
        statusTag('a', minutesAgo(5)),
        statusTag('new', minutesAgo(1)),
        statusTag('old', minutesAgo(50)),
      ]),
    ).toEqual(['new', 'a', 'b', 'old', 'empty']);
  });

  it('fits tags in 40 columns, always one, runs over by a quarter when that evens the edge, counts the rest', () => {
    const many = Array.from({ length: 12 }, (_, i) =>
      statusTag(`t${String(i).padStart(2, '0')}`, minutesAgo(i)),
    );
    expect(tagsUpToWidth(many)).toBe('t00,t01,t02,t03,t04,t05,t06,t07,t08,t09 + 2 more...');
    expect(tagsUpToWidth(many.slice(0, 10))).toBe('t00,t01,t02,t03,t04,t05,t06,t07,t08,t09');
    const long = 'x'.repeat(45);
    expect(tagsUpToWidth([statusTag(long, minutesAgo(1)), statusTag('b', minutesAgo(2))])).toBe(
      `${long} + 1 more...`,
    );
    // 20 columns used, a 25-column tag overshoots by 6: within the quarter margin and it fills the gap, so it stays.
    const a = 'a'.repeat(19);
    const b = 'b'.repeat(25);
    expect(
      tagsUpToWidth([
        statusTag(a, minutesAgo(1)),
        statusTag(b, minutesAgo(2)),
        statusTag('cc', minutesAgo(3)),
      ]),
    ).toBe(`${a},${b} + 1 more...`);
    // 33 used, an 8-column tag overshoots by 2 but would leave little to fill: cut before it.
    const ten = ['p', 'q', 'r'].map((c, i) => statusTag(c.repeat(10), minutesAgo(i)));
    expect(tagsUpToWidth([...ten, statusTag('s'.repeat(8), minutesAgo(9))])).toBe(
      `${'p'.repeat(10)},${'q'.repeat(10)},${'r'.repeat(10)} + 1 more...`,
    );
    // Tags without events count as hidden too.
    expect(tagsUpToWidth([statusTag('a', minutesAgo(1)), statusTag('gone')])).toBe('a,gone');
  });

  it('the repository column: public first, then the (deprecated) spec repository, then status', () => {
    expect(listedRepository(stream())).toBe('reg.internal:5000/p/ruby');
    expect(listedRepository(stream({ spec: { dockerImageRepository: 'docker.io/library/ruby' } }))).toBe(
      'docker.io/library/ruby',
    );
    expect(
      listedRepository(
        stream({
          spec: { dockerImageRepository: 'docker.io/library/ruby' },
          status: { publicDockerImageRepository: 'registry.example.com/p/ruby' },
        }),
      ),
    ).toBe('registry.example.com/p/ruby');
  });

  it('a row: name, repository, tags, the newest event of any tag', () => {
    const is = stream({ status: { tags: [statusTag('a', minutesAgo(30)), statusTag('b', minutesAgo(3))] } });
    expect(imageStreamRow(is, { now: NOW })).toEqual([
      'ruby',
      'reg.internal:5000/p/ruby',
      'b,a',
      '3 minutes ago',
    ]);
    expect(imageStreamRow(stream(), { now: NOW, name: 'imagestream.image.openshift.io/ruby' })).toEqual([
      'imagestream.image.openshift.io/ruby',
      'reg.internal:5000/p/ruby',
      '',
      '',
    ]);
  });

  it('istag rows and the wide SOURCE column', () => {
    const ist: any = {
      metadata: { name: 'ruby:prod', namespace: 'p', creationTimestamp: minutesAgo(2) },
      tag: { name: 'prod', from: { kind: 'ImageStreamTag', namespace: 'shared', name: 'base:1' } },
      image: { metadata: { name: D('b') }, dockerImageReference: `q.io/base@${D('b')}` },
    };
    expect(imageStreamTagRow(ist, { now: NOW, wide: true })).toEqual([
      'ruby:prod',
      `q.io/base@${D('b')}`,
      '2 minutes ago',
      D('b'),
      'ImageStreamTag shared/base:1',
    ]);
    expect(tagSource({ name: 'x', from: { kind: 'ImageStreamTag', namespace: 'p', name: 'a' } }, 'p')).toBe(
      'ImageStreamTag a',
    );
    expect(tagSource(null)).toBe('<none>');
  });
});

describe('oc describe is', () => {
  it('follows same-stream aliases to the tag they end at; loops, other streams and missing tags are not aliases', () => {
    const is = stream({
      spec: {
        tags: [
          { name: 'latest', from: { kind: 'DockerImage', name: 'q.io/x:1' } },
          { name: 'prod', from: { kind: 'ImageStreamTag', name: 'latest' } },
          { name: 'stable', from: { kind: 'ImageStreamTag', name: 'ruby:prod' } },
          { name: 'loop1', from: { kind: 'ImageStreamTag', name: 'loop2' } },
          { name: 'loop2', from: { kind: 'ImageStreamTag', name: 'loop1' } },
          { name: 'other', from: { kind: 'ImageStreamTag', name: 'python:3' } },
          { name: 'away', from: { kind: 'ImageStreamTag', namespace: 'q', name: 'latest' } },
          { name: 'dangling', from: { kind: 'ImageStreamTag', name: 'nothing' } },
        ],
      },
    });
    expect(followTagReference(is, 'stable')).toEqual({ target: 'latest', alias: true });
    expect(followTagReference(is, 'prod')).toEqual({ target: 'latest', alias: true });
    expect(followTagReference(is, 'latest')).toEqual({ target: 'latest', alias: false });
    expect(followTagReference(is, 'loop1').alias).toBe(false);
    expect(followTagReference(is, 'other').alias).toBe(false);
    expect(followTagReference(is, 'away').alias).toBe(false);
    expect(followTagReference(is, 'dangling').alias).toBe(false);
  });

  it('prints the text of oc describe is, aligned as its tab stops show it', () => {
    const is = stream({
      metadata: {
        labels: { b: '2', a: '1' },
        annotations: { 'openshift.io/image.dockerRepositoryCheck': 'x' },
      },
      spec: {
        lookupPolicy: { local: true },
        tags: [
          {
            name: '1.0',
            from: { kind: 'DockerImage', name: 'q.io/x:1.0' },
            generation: 4,
            importPolicy: { scheduled: true, insecure: true },
          },
          { name: 'bare', generation: 1 },
          {
            name: 'ref',
            from: { kind: 'DockerImage', name: 'q.io/ref:1' },
            reference: true,
            annotations: { description: 'A reference', tags: 'a,b' },
          },
          {
            name: 'latest',
            from: { kind: 'ImageStreamTag', name: '1.0' },
            referencePolicy: { type: 'Local' },
          },
        ],
      },
      status: {
        publicDockerImageRepository: 'registry.example.com/p/ruby',
        tags: [
          {
            tag: '1.0',
            items: [
              {
                created: minutesAgo(2),
                dockerImageReference: `q.io/x@${D('2')}`,
                image: D('2'),
                generation: 3,
              },
              { created: minutesAgo(90), dockerImageReference: 'q.io/x:1.0', image: D('1'), generation: 1 },
            ],
            conditions: [
              {
                type: 'ImportSuccess',
                status: 'False',
                reason: 'Unauthorized',
                message: 'you may not have access',
                lastTransitionTime: minutesAgo(1),
                generation: 3,
              },
            ],
          },
          {
            tag: 'pushed',
            items: [{ created: minutesAgo(5), dockerImageReference: 'q.io/p:1', image: '', generation: 1 }],
          },
          {
            tag: 'ref',
            items: [{ created: minutesAgo(5), dockerImageReference: 'q.io/ref:1', image: '', generation: 1 }],
          },
        ],
      },
    });
    expect(describeImageStream(is, { now: NOW, historyTotals: new Map([['1.0', 14]]) })).toBe(
      [
        'Name:                   ruby',
        'Namespace:              p',
        `Created:                1 hour ago (${minutesAgo(60)})`,
        'Labels:                 a=1',
        '                        b=2',
        'Annotations:            openshift.io/image.dockerRepositoryCheck=x',
        'Image Repository:       registry.example.com/p/ruby',
        'Image Lookup:           local=true',
        'Unique Images:          4',
        'Tags:                   5',
        '',
        '1.0 (latest)',
        '  updates automatically from registry q.io/x:1.0',
        '    will use insecure HTTPS or HTTP connections',
        '',
        '  ~ importing latest image ...',
        '  ! error: Import failed (Unauthorized): you may not have access',
        '      1 minute ago',
        `  * q.io/x@${D('2')}`,
        '      2 minutes ago',
        '    q.io/x:1.0',
        `      1 hour ago        ${D('1')}`,
        '    ... 12 older (isctl history ruby:1.0 shows all 14)',
        '',
        'bare',
        '  tag without source image',
        '',
        '',
        'pushed',
        '  no spec tag',
        '',
        '  * q.io/p:1',
        '      5 minutes ago',
        '',
        'ref',
        '  reference to registry q.io/ref:1',
        '',
        '  A reference',
        '  Tags: a, b',
        '',
        '  * q.io/ref:1',
        '      5 minutes ago',
      ].join('\n'),
    );
  });

  it('a stream without tags says so', () => {
    const text = describeImageStream(stream({ metadata: { creationTimestamp: undefined } }), { now: NOW });
    expect(text.split('\n')).toEqual([
      'Name:                   ruby',
      'Namespace:              p',
      'Labels:                 <none>',
      'Annotations:            <none>',
      'Image Repository:       reg.internal:5000/p/ruby',
      'Image Lookup:           local=false',
      'Tags:                   <none>',
    ]);
  });
});

describe('describe hides kubectl apply’s copy of the object', () => {
  it('leaves out kubectl.kubernetes.io/last-applied-configuration, keeps the other annotations', () => {
    const applied = stream({
      metadata: {
        creationTimestamp: undefined,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}', team: 'a' },
      },
    });
    const text = describeImageStream(applied, { now: NOW });
    expect(text).not.toContain('last-applied-configuration');
    expect(text).toMatch(/^Annotations:\s+team=a$/m);
    const onlyApplied = stream({
      metadata: {
        creationTimestamp: undefined,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
      },
    });
    expect(describeImageStream(onlyApplied, { now: NOW })).toMatch(/^Annotations:\s+<none>$/m);
  });
});

describe('isctl server URLs', () => {
  it('refuses a server URL without a scheme, saying what to write', () => {
    expect(serverUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(serverUrl('HTTPS://api.example')).toBe('HTTPS://api.example');
    expect(() => serverUrl('127.0.0.1:8080')).toThrow(
      'the server URL "127.0.0.1:8080" has no scheme: write http://127.0.0.1:8080 (or https://…, for a server with TLS)',
    );
    expect(() => serverUrl('ftp://x')).toThrow('has no scheme: write http://x');
  });
});

describe('oc describe istag / isimage', () => {
  it('sizes like docker/go-units HumanSize', () => {
    expect([0, 100, 999, 1000, 1234, 2_500_000, 999_999, 3.2e9].map(humanSize)).toEqual([
      '0B',
      '100B',
      '999B',
      '1kB',
      '1.234kB',
      '2.5MB',
      '1000kB',
      '3.2GB',
    ]);
  });

  it('an image: metadata, size, platform, manifests and its config', () => {
    const image: any = {
      metadata: { name: D('c'), creationTimestamp: minutesAgo(120) },
      dockerImageReference: `q.io/x@${D('c')}`,
      dockerImageMetadata: {
        Created: minutesAgo(180),
        Architecture: 'arm64',
        Author: 'me',
        Size: 0,
        Config: {
          Entrypoint: ['/bin/sh', '-c'],
          Cmd: ['run'],
          WorkingDir: '/app',
          User: '1001',
          ExposedPorts: { '8080/tcp': {}, '443/tcp': {} },
          Env: ['A=1', 'B=2'],
          Volumes: { '/data': {} },
        },
      },
      dockerImageManifests: [
        { digest: D('d'), os: 'linux', architecture: 'amd64', mediaType: 'm', manifestSize: 1 },
        { digest: D('e'), os: 'linux', architecture: 'arm64', mediaType: 'm', manifestSize: 1 },
      ],
    };
    expect(describeImage(image, D('c'), NOW)).toBe(
      [
        `Image Name:     ${D('c')}`,
        `Docker Image:   q.io/x@${D('c')}`,
        `Name:           ${D('c')}`,
        `Created:        2 hours ago (${minutesAgo(120)})`,
        'Layer Size:     0B',
        'Image Created:  3 hours ago',
        'Author:         me',
        'Arch:           arm64',
        `Manifests:      linux/amd64     ${D('d')}`,
        `                linux/arm64     ${D('e')}`,
        'Entrypoint:     /bin/sh -c',
        'Command:        run',
        'Working Dir:    /app',
        'User:           1001',
        'Exposes Ports:  443/tcp, 8080/tcp',
        'Docker Labels:  <none>',
        'Environment:    A=1',
        '                B=2',
        'Volumes:        /data',
      ].join('\n'),
    );
  });
});

describe('isctl history table', () => {
  it('numbers entries from the oldest, marks the current one, shows who wrote each', () => {
    const items = [
      {
        created: minutesAgo(1),
        dockerImageReference: `q.io/x@${D('2')}`,
        image: D('2'),
        generation: 5,
        by: 'dev',
      },
      { created: minutesAgo(61), dockerImageReference: 'q.io/ref:1', image: '', generation: 2, by: '' },
    ];
    expect(historyTable(items, 7, NOW).split('\n')).toEqual([
      '    #   IMAGE                 PULL SPEC                                                                        CREATED                               BY       GENERATION',
      `*   7   sha256:222222222222   q.io/x@${D('2')}   ${minutesAgo(1)} (1 minute ago)   dev      5`,
      `    6   <none>                q.io/ref:1                                                                       ${minutesAgo(61)} (1 hour ago)     <none>   2`,
    ]);
  });
});
