import { describe, expect, it } from 'vitest';
import { renderJsonPath } from '../../../cli/jsonpath';

const list = {
  kind: 'ImageStreamList',
  items: [
    {
      metadata: { name: 'a', annotations: { 'openshift.io/display-name': 'A' } },
      status: {
        tags: [
          { tag: 'v1', items: [{ image: 'sha256:1' }] },
          { tag: 'v2', items: [] },
        ],
      },
    },
    { metadata: { name: 'b', labels: { tier: 'gold' } }, status: { tags: [] } },
  ],
};

describe("isctl -o jsonpath (kubectl's template)", () => {
  it.each([
    ['{.kind}', 'ImageStreamList'],
    ['{.items[*].metadata.name}', 'a b'],
    ['{.items[0].metadata.name}', 'a'],
    ['{.items[-1].metadata.name}', 'b'],
    ['{range .items[*]}{.metadata.name}{"\\n"}{end}', 'a\nb\n'],
    ['{.items[0].metadata.annotations.openshift\\.io/display-name}', 'A'],
    ["{.items[0].metadata.annotations['openshift.io/display-name']}", 'A'],
    ['{.items[?(@.metadata.name=="b")].metadata.labels.tier}', 'gold'],
    ['{.items[0].status.tags[?(@.tag=="v1")].items[0].image}', 'sha256:1'],
    ['name={.items[1].metadata.name}!', 'name=b!'],
    ['{.items[1].metadata.labels}', '{"tier":"gold"}'],
    ['{.items[1].metadata.missing}', ''],
    ['{range .items[*]}[{.metadata.name}:{range .status.tags[*]}{.tag},{end}]{end}', '[a:v1,v2,][b:]'],
  ])('%s', (template, out) => {
    expect(renderJsonPath(template, list)).toBe(out);
  });

  it('refuses templates it cannot read', () => {
    expect(() => renderJsonPath('{.items', list)).toThrow('unclosed action');
    expect(() => renderJsonPath('{range .items[*]}{.x}', list)).toThrow('without {end}');
    expect(() => renderJsonPath('{end}', list)).toThrow('unexpected {end}');
  });
});
