import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TagReference } from '../../../functions/core/api-types';
import { StatusError } from '../../../functions/core/errors';
import { emptyTagRecord, type StreamHead, type TagRecord } from '../../../functions/core/imagestream/model';
import { managersOf, storeManagers } from '../../../functions/core/imagestream/ownership';
import {
  ANCIENT_CHANGES,
  apply,
  capUpdateManagers,
  compare,
  fieldSetOf,
  fromFieldsV1,
  LAST_APPLIED,
  lastAppliedFields,
  MAX_UPDATE_MANAGERS,
  type Manager,
  type Managers,
  managerKey,
  merge,
  pathKey,
  pathString,
  requestedManagers,
  toEntries,
  toFieldsV1,
  update,
} from '../../../functions/core/managed-fields';

const V = 'image.openshift.io/v1';
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:01:00Z';
const T2 = '2026-01-01T00:02:00Z';

const tag = (name: string, from: string, extra: object = {}) => ({
  name,
  from: { kind: 'DockerImage', name: from },
  ...extra,
});
const stream = (labels: Record<string, string> | undefined, tags: object[]) => ({
  apiVersion: V,
  kind: 'ImageStream',
  metadata: { name: 's', ...(labels ? { labels } : {}) },
  spec: { tags },
});

const fields = (managers: Managers, key: string) =>
  [...(managers.get(key)?.fields ?? [])].map((p) => pathString(JSON.parse(p))).sort();

function conflictOf(run: () => unknown): StatusError {
  try {
    run();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('no conflict');
}

describe('field sets', () => {
  it("owns leaves, map entries and keyed list elements; not the server's metadata, status, apiVersion or kind", () => {
    const config = {
      ...stream({ app: 'web' }, [tag('a', 'x/y:1', { importPolicy: { scheduled: true } })]),
      metadata: { name: 's', namespace: 'n', uid: 'u', resourceVersion: '3', labels: { app: 'web' } },
      status: { tags: [] },
    };
    expect([...fieldSetOf(config)].map((p) => pathString(JSON.parse(p))).sort()).toEqual([
      '.metadata.labels.app',
      '.spec.tags[name="a"]',
      '.spec.tags[name="a"].from',
      '.spec.tags[name="a"].importPolicy.scheduled',
      '.spec.tags[name="a"].name',
    ]);
  });

  it('writes FieldsV1 as Kubernetes does (`.` for a member with members below) and reads it back', () => {
    const set = fieldSetOf(stream({ app: 'web' }, [tag('a', 'x/y:1')]));
    const tree = toFieldsV1(set);
    expect(tree).toEqual({
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': { 'f:tags': { 'k:{"name":"a"}': { '.': {}, 'f:from': {}, 'f:name': {} } } },
    });
    expect(fromFieldsV1(tree)).toEqual(set);
  });

  it('round-trips any set through FieldsV1', () => {
    const element = fc.constantFrom('f:a', 'f:b', 'k:{"name":"x"}', 'k:{"name":"y"}');
    fc.assert(
      fc.property(fc.array(fc.array(element, { minLength: 1, maxLength: 4 }), { maxLength: 12 }), (paths) => {
        const set = new Set(paths.map((p) => JSON.stringify(p)));
        expect(fromFieldsV1(toFieldsV1(set))).toEqual(set);
      }),
    );
  });
});

describe('merge and compare', () => {
  it('merges keyed lists element by element and leaves the rest of the live object alone', () => {
    const live = {
      ...stream({ app: 'web', team: 'a' }, [tag('a', 'x/y:1', { referencePolicy: { type: 'Source' } })]),
      status: { dockerImageRepository: 'r' },
    };
    const merged = merge(live, stream({ app: 'api' }, [tag('a', 'x/y:2'), tag('b', 'x/y:b')])) as typeof live;
    expect(merged.metadata.labels).toEqual({ app: 'api', team: 'a' });
    expect(merged.spec.tags).toEqual([
      tag('a', 'x/y:2', { referencePolicy: { type: 'Source' } }),
      tag('b', 'x/y:b'),
    ]);
    expect(merged.status).toEqual({ dockerImageRepository: 'r' });
  });

  it('says what was added, changed and removed', () => {
    const diff = compare(stream({ app: 'web' }, [tag('a', 'x/y:1')]), stream(undefined, [tag('a', 'x/y:2')]));
    const show = (s: Set<string>) => [...s].map((p) => pathString(JSON.parse(p))).sort();
    expect(show(diff.added)).toEqual([]);
    expect(show(diff.modified)).toEqual(['.spec.tags[name="a"].from']);
    expect(show(diff.removed)).toEqual(['.metadata.labels', '.metadata.labels.app']);
  });
});

describe('apply', () => {
  const first = apply({
    live: undefined,
    config: stream({ app: 'web' }, [tag('a', 'x/y:1')]),
    managers: new Map(),
    manager: 'kubectl',
    force: false,
    apiVersion: V,
    now: T0,
  });

  it('creates: the applier owns exactly what it applied', () => {
    expect(first.changed).toBe(true);
    expect(toEntries(first.managers)).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: V,
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: toFieldsV1(fieldSetOf(stream({ app: 'web' }, [tag('a', 'x/y:1')]))),
      },
    ]);
  });

  it('the same configuration again changes nothing, not even the time', () => {
    const again = apply({
      live: first.object,
      config: stream({ app: 'web' }, [tag('a', 'x/y:1')]),
      managers: first.managers,
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T1,
    });
    expect(again.changed).toBe(false);
    expect(again.managers.get('Apply:kubectl')?.time).toBe(T0);
  });

  it("refuses to change another manager's field, naming it as Kubernetes does", () => {
    const err = conflictOf(() =>
      apply({
        live: first.object,
        config: stream(undefined, [tag('a', 'x/y:2')]),
        managers: first.managers,
        manager: 'other',
        force: false,
        apiVersion: V,
        now: T1,
      }),
    );
    expect(err.code).toBe(409);
    expect(err.reason).toBe('Conflict');
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.tags[name="a"].from',
    );
    expect(err.details?.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "kubectl"',
        field: '.spec.tags[name="a"].from',
      },
    ]);
  });

  it('lists several conflicts per manager; an Update owner is named with its apiVersion', () => {
    const managers = update({
      before: first.object,
      after: stream({ app: 'edited' }, [tag('a', 'x/y:1')]),
      managers: first.managers,
      manager: 'kubectl-edit',
      apiVersion: V,
      now: T1,
    });
    const err = conflictOf(() =>
      apply({
        live: stream({ app: 'edited' }, [tag('a', 'x/y:1')]),
        config: stream({ app: 'mine' }, [tag('a', 'x/y:9')]),
        managers,
        manager: 'other',
        force: false,
        apiVersion: V,
        now: T2,
      }),
    );
    expect(err.message).toBe(
      'Apply failed with 2 conflicts: conflicts with "kubectl":\n- .spec.tags[name="a"].from\nconflicts with "kubectl-edit" using image.openshift.io/v1:\n- .metadata.labels.app',
    );
  });

  it('with force, takes the fields from their owner; agreeing on a value is no conflict', () => {
    const forced = apply({
      live: first.object,
      config: stream({ app: 'web' }, [tag('a', 'x/y:2')]),
      managers: first.managers,
      manager: 'other',
      force: true,
      apiVersion: V,
      now: T1,
    });
    expect((forced.object as ReturnType<typeof stream>).spec.tags).toEqual([tag('a', 'x/y:2')]);
    expect(fields(forced.managers, 'Apply:kubectl')).toEqual([
      '.metadata.labels.app',
      '.spec.tags[name="a"]',
      '.spec.tags[name="a"].name',
    ]);
    // Both apply `app: web`: shared ownership.
    expect(fields(forced.managers, 'Apply:other')).toContain('.metadata.labels.app');
    expect(fields(forced.managers, 'Apply:other')).toContain('.spec.tags[name="a"].from');
  });

  it('removes what the applier stopped applying, unless another manager owns it', () => {
    const shared = apply({
      live: first.object,
      config: stream(undefined, [tag('a', 'x/y:1')]),
      managers: first.managers,
      manager: 'other',
      force: false,
      apiVersion: V,
      now: T1,
    });
    const dropped = apply({
      live: shared.object,
      config: stream(undefined, [tag('b', 'x/y:b')]),
      managers: shared.managers,
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T2,
    });
    const object = dropped.object as ReturnType<typeof stream>;
    // The label only kubectl owned is gone; tag a stays, since `other` still applies it.
    expect(object.metadata.labels).toEqual({});
    expect(object.spec.tags.map((t) => (t as { name: string }).name)).toEqual(['a', 'b']);
    const alone = apply({
      live: dropped.object,
      config: stream(undefined, []),
      managers: dropped.managers,
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T2,
    });
    expect(
      (alone.object as ReturnType<typeof stream>).spec.tags.map((t) => (t as { name: string }).name),
    ).toEqual(['a']);
  });
});

describe('update', () => {
  it('the writer owns what it added or changed, taking it from its owner; removal drops it everywhere', () => {
    const applied = apply({
      live: undefined,
      config: stream({ app: 'web' }, [tag('a', 'x/y:1')]),
      managers: new Map(),
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T0,
    });
    const edited = update({
      before: applied.object,
      after: stream({ app: 'web', extra: 'e' }, [tag('a', 'x/y:2')]),
      managers: applied.managers,
      manager: 'kubectl-edit',
      apiVersion: V,
      now: T1,
    });
    expect(fields(edited, 'Update:kubectl-edit')).toEqual([
      '.metadata.labels.extra',
      '.spec.tags[name="a"].from',
    ]);
    expect(fields(edited, 'Apply:kubectl')).not.toContain('.spec.tags[name="a"].from');
    const removed = update({
      before: stream({ app: 'web', extra: 'e' }, [tag('a', 'x/y:2')]),
      after: stream({ app: 'web', extra: 'e' }, []),
      managers: edited,
      manager: 'kubectl-patch',
      apiVersion: V,
      now: T2,
    });
    expect(fields(removed, 'Apply:kubectl')).toEqual(['.metadata.labels.app']);
    expect(fields(removed, 'Update:kubectl-edit')).toEqual(['.metadata.labels.extra']);
    expect(removed.has('Update:kubectl-patch')).toBe(false);
  });
});

describe('stored on the head and the tag records', () => {
  const head = (): StreamHead => ({
    namespace: 'n',
    name: 's',
    uid: 'u',
    resourceVersion: 1,
    generation: 1,
    creationTimestamp: T0,
    labels: {},
    annotations: {},
    lookupPolicy: { local: false },
    dockerImageRepository: '',
  });
  const record = (name: string): TagRecord => ({
    ...emptyTagRecord(name, `tid-${name}`),
    spec: { name, from: { kind: 'DockerImage', name: 'x/y:1' } } as TagReference,
  });

  it('keeps spec tag ownership with each tag, the rest on the head, and reads the same managers back', () => {
    const tags = new Map([...Array.from({ length: 50 }, (_, i) => `t${i}`)].map((n) => [n, record(n)]));
    const applied = apply({
      live: undefined,
      config: stream(
        { app: 'web' },
        [...tags.keys()].map((n) => tag(n, 'x/y:1')),
      ),
      managers: new Map(),
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T0,
    });
    const h = head();
    storeManagers(h, tags, applied.managers);
    expect(h.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: V,
        time: T0,
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
    ]);
    expect(tags.get('t7')!.owners).toEqual({ 'Apply:kubectl': { '.': {}, 'f:from': {}, 'f:name': {} } });
    expect(managersOf(h, tags.values())).toEqual(applied.managers);

    // One tag changes hands: only that record's owners change (the same objects stay for every other tag).
    const before = new Map([...tags].map(([n, t]) => [n, t.owners]));
    const config = stream(undefined, [tag('t7', 'x/y:2')]);
    const live = applied.object;
    const forced = apply({
      live,
      config,
      managers: managersOf(h, tags.values()),
      manager: 'other',
      force: true,
      apiVersion: V,
      now: T1,
    });
    storeManagers(h, tags, forced.managers);
    const changed = [...tags].filter(([n, t]) => t.owners !== before.get(n)).map(([n]) => n);
    expect(changed).toEqual(['t7']);
    expect(tags.get('t7')!.owners).toEqual({
      'Apply:kubectl': { '.': {}, 'f:name': {} },
      'Apply:other': { '.': {}, 'f:from': {}, 'f:name': {} },
    });
  });
});

describe('managedFields a write sends', () => {
  it('none or an empty list keeps the stored ones; entries replace them; [{}] clears them', () => {
    expect(requestedManagers(undefined)).toEqual({ errors: [] });
    expect(requestedManagers([])).toEqual({ errors: [] });
    expect(requestedManagers([{}]).managers?.size).toBe(0);
    const sent = requestedManagers([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: V,
        time: T0,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } } },
      },
    ]);
    expect(fields(sent.managers!, 'Apply:kubectl')).toEqual(['.metadata.labels.app']);
  });

  it('a malformed entry is a field error naming it', () => {
    const { errors } = requestedManagers([{ manager: 'm', operation: 'Patch', fieldsV1: { 'f:a': 1 } }]);
    expect(errors.map((e) => e.field)).toEqual([
      'metadata.managedFields[0].operation',
      'metadata.managedFields[0].fieldsV1',
    ]);
    expect(requestedManagers('x').errors.map((e) => e.field)).toEqual(['metadata.managedFields']);
  });
});

describe('large streams', () => {
  it('an applier that stops applying 5,000 tags prunes them all in linear time', () => {
    const tags = Array.from({ length: 5000 }, (_, i) =>
      tag(`t${i}`, `x/y:${i}`, { importPolicy: { scheduled: true } }),
    );
    const all = apply({
      live: undefined,
      config: stream(undefined, tags),
      managers: new Map(),
      manager: 'ci',
      force: false,
      apiVersion: V,
      now: T0,
    });
    const started = performance.now();
    const none = apply({
      live: all.object,
      config: stream(undefined, []),
      managers: all.managers,
      manager: 'ci',
      force: false,
      apiVersion: V,
      now: T1,
    });
    expect((none.object as ReturnType<typeof stream>).spec.tags).toEqual([]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('from client-side to server-side apply', () => {
  const lastApplied = stream({ app: 'web' }, [tag('a', 'x/y:1')]);
  const live = (labels: Record<string, string>) => ({
    ...stream(labels, [tag('a', 'x/y:1')]),
    metadata: { name: 's', labels, annotations: { [LAST_APPLIED]: JSON.stringify(lastApplied) } },
  });

  it('allows taking what the last-applied configuration set and nobody changed since', () => {
    const allowed = [...lastAppliedFields(live({ app: 'web' }))].map((p) => pathString(JSON.parse(p))).sort();
    expect(allowed).toEqual([
      '.metadata.labels.app',
      '.spec.tags[name="a"]',
      '.spec.tags[name="a"].from',
      '.spec.tags[name="a"].name',
    ]);
    expect(
      [...lastAppliedFields(live({ app: 'changed' }))].map((p) => pathString(JSON.parse(p))),
    ).not.toContain('.metadata.labels.app');
  });

  it('an apply whose conflicts are all allowed goes through; any other conflict is still refused', () => {
    const managers = update({
      before: undefined,
      after: live({ app: 'web' }),
      managers: new Map(),
      manager: 'kubectl-client-side-apply',
      apiVersion: V,
      now: T0,
    });
    const input = {
      live: live({ app: 'web' }),
      config: stream({ app: 'web' }, [tag('a', 'x/y:2')]),
      managers,
      manager: 'kubectl',
      force: false,
      apiVersion: V,
      now: T1,
    };
    expect(conflictOf(() => apply(input)).code).toBe(409);
    const taken = apply({ ...input, allowedConflicts: lastAppliedFields(input.live) });
    expect(fields(taken.managers, 'Apply:kubectl')).toContain('.spec.tags[name="a"].from');
    const edited = live({ app: 'edited' });
    const err = conflictOf(() =>
      apply({
        ...input,
        live: edited,
        config: stream({ app: 'mine' }, [tag('a', 'x/y:2')]),
        allowedConflicts: lastAppliedFields(edited),
      }),
    );
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using image.openshift.io/v1: .metadata.labels.app',
    );
  });
});

describe('capUpdateManagers', () => {
  const updater = (manager: string, time: string, label: string): [string, Manager] => [
    managerKey(manager, 'Update'),
    {
      manager,
      operation: 'Update',
      apiVersion: V,
      time,
      fields: new Set([pathKey(['f:metadata', 'f:labels', `f:${label}`])]),
    },
  ];
  const at = (i: number) => `2026-01-01T00:${String(i).padStart(2, '0')}:00Z`;

  it('leaves 10 Update managers alone and merges the oldest beyond into one ancient-changes entry', () => {
    const ten: Managers = new Map(Array.from({ length: 10 }, (_, i) => updater(`w${i}`, at(i), `l${i}`)));
    expect([...capUpdateManagers(new Map(ten)).keys()]).toEqual([...ten.keys()]);

    const thirteen: Managers = new Map([
      ...Array.from({ length: 13 }, (_, i) => updater(`w${i}`, at(i), `l${i}`)),
      ['Apply:ci', { manager: 'ci', operation: 'Apply', apiVersion: V, time: at(0), fields: new Set(['x']) }],
    ]);
    const capped = capUpdateManagers(thirteen);
    expect([...capped.values()].filter((m) => m.operation === 'Update')).toHaveLength(MAX_UPDATE_MANAGERS);
    expect(capped.has('Apply:ci')).toBe(true);
    const ancient = capped.get(managerKey(ANCIENT_CHANGES, 'Update'))!;
    // w0..w3 (the four oldest) became one entry: 13 - 4 + 1 = 10; the bucket carries the newest merged time.
    expect(fields(capped, managerKey(ANCIENT_CHANGES, 'Update'))).toEqual([
      '.metadata.labels.l0',
      '.metadata.labels.l1',
      '.metadata.labels.l2',
      '.metadata.labels.l3',
    ]);
    expect(ancient.time).toBe(at(3));
    for (const gone of ['w0', 'w1', 'w2', 'w3']) expect(capped.has(managerKey(gone, 'Update'))).toBe(false);
  });

  it('merges into an existing ancient-changes entry rather than making a second one', () => {
    const managers: Managers = new Map([
      updater(ANCIENT_CHANGES, at(5), 'old'),
      ...Array.from({ length: 10 }, (_, i) => updater(`w${i}`, at(10 + i), `l${i}`)),
    ]);
    const capped = capUpdateManagers(managers);
    expect(capped.size).toBe(10);
    expect(fields(capped, managerKey(ANCIENT_CHANGES, 'Update'))).toEqual([
      '.metadata.labels.l0',
      '.metadata.labels.old',
    ]);
  });

  it('an update by an eleventh writer keeps the count at 10', () => {
    let managers: Managers = new Map();
    let live: unknown = stream({}, []);
    for (let i = 0; i < 11; i++) {
      const after = stream(Object.fromEntries(Array.from({ length: i + 1 }, (_, j) => [`l${j}`, 'x'])), []);
      managers = update({ before: live, after, managers, manager: `w${i}`, apiVersion: V, now: at(i) });
      live = after;
    }
    expect(managers.size).toBe(10);
    // w0 and w1, the two oldest, with all they owned (w0 made the labels map).
    expect(fields(managers, managerKey(ANCIENT_CHANGES, 'Update'))).toEqual([
      '.metadata.labels',
      '.metadata.labels.l0',
      '.metadata.labels.l1',
    ]);
  });
});
