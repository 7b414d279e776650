import { describe, expect, it } from 'vitest';
import {
  decodeKubernetesProtobuf,
  SELF_SUBJECT_ACCESS_REVIEW,
  SELF_SUBJECT_RULES_REVIEW,
} from '../../functions/http/protobuf';

/** Protobuf wire encoding, enough to build the messages kubectl sends. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
};
const field = (n: number, value: string | Buffer | number[]): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
  return Buffer.from([...varint(n * 8 + 2), ...varint(bytes.length), ...bytes]);
};
const message = (...fields: Buffer[]) => Buffer.concat(fields);
const envelope = (raw: Buffer, kind: string) =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(1, message(field(1, 'authorization.k8s.io/v1'), field(2, kind))),
    field(2, raw),
    field(4, 'application/vnd.kubernetes.protobuf'),
  ]);

describe('Kubernetes protobuf bodies', () => {
  it('reads a SelfSubjectAccessReview as kubectl sends it, skipping what it does not know', () => {
    const metadata = field(1, message(field(1, 'ignored-name')));
    const attrs = message(
      field(1, 'x'),
      field(2, 'create'),
      field(3, 'image.openshift.io'),
      field(5, 'imagestreams'),
      field(8, message(field(1, 'a field selector'))),
      // a varint field of a later Kubernetes version
      Buffer.from([...varint(12 * 8), ...varint(300)]),
    );
    const body = envelope(message(metadata, field(2, message(field(1, attrs)))), 'SelfSubjectAccessReview');
    expect(decodeKubernetesProtobuf(body, SELF_SUBJECT_ACCESS_REVIEW)).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          namespace: 'x',
          verb: 'create',
          group: 'image.openshift.io',
          resource: 'imagestreams',
        },
      },
    });
    const nonResource = envelope(
      message(field(2, message(field(2, message(field(1, '/apis'), field(2, 'get')))))),
      'SelfSubjectAccessReview',
    );
    expect(decodeKubernetesProtobuf(nonResource, SELF_SUBJECT_ACCESS_REVIEW).spec).toEqual({
      nonResourceAttributes: { path: '/apis', verb: 'get' },
    });
  });

  it('reads a SelfSubjectRulesReview, and a long string (multi-byte lengths)', () => {
    const ns = 'n'.repeat(300);
    const body = envelope(message(field(2, message(field(1, ns)))), 'SelfSubjectRulesReview');
    expect(decodeKubernetesProtobuf(body, SELF_SUBJECT_RULES_REVIEW)).toMatchObject({
      kind: 'SelfSubjectRulesReview',
      spec: { namespace: ns },
    });
  });

  it('refuses malformed bodies with 400', () => {
    const good = envelope(message(field(2, message(field(1, 'x')))), 'SelfSubjectRulesReview');
    for (const bad of [
      Buffer.from('{"kind":"SelfSubjectRulesReview"}'),
      good.subarray(0, good.length - 1),
      Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x7f])]),
      Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0f])]),
      Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from(Array(11).fill(0xff))]),
    ]) {
      expect(() => decodeKubernetesProtobuf(bad, SELF_SUBJECT_RULES_REVIEW)).toThrow(
        expect.objectContaining({ code: 400 }),
      );
    }
  });
});
