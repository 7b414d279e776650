import type {
  EventBridgeClient,
  PutEventsCommand,
  PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  busLocation,
  EventBridgePublisher,
  eventResources,
} from '../../../functions/aws/eventbridge-publisher';
import { DETAIL_TYPES, type TagEventEnvelope } from '../../../functions/core/events/tag-events';

/**
 * The EventBridge adapter against a recording fake of PutEvents (there is no EventBridge to run locally). The fake
 * applies PutEvents' documented limits on the fields this adapter sets: at most 10 entries, `Resources` at most
 * 100 strings of at most 2048 characters, `Source` and `DetailType` required; and it can refuse an entry as
 * EventBridge does (FailedEntryCount with an error code).
 */
const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/ImageStreamsServiceeventbus1A2B3C4D';

class FakeEventBridge {
  readonly entries: NonNullable<PutEventsCommand['input']['Entries']>[] = [];
  refuse: string | undefined;
  async send(command: PutEventsCommand): Promise<PutEventsCommandOutput> {
    const entries = command.input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10)
      throw new Error(`PutEvents with ${entries.length} entries`);
    for (const e of entries) {
      if (!e.Source || !e.DetailType || !e.Detail)
        throw new Error('entry without Source, DetailType or Detail');
      const r = e.Resources ?? [];
      if (r.length > 100 || r.some((x) => x.length > 2048)) throw new Error('Resources beyond the limits');
    }
    this.entries.push(entries);
    const refused = this.refuse ? 1 : 0;
    return {
      $metadata: {},
      FailedEntryCount: refused,
      Entries: entries.map((_, i) =>
        i === 0 && this.refuse ? { ErrorCode: this.refuse } : { EventId: `e${i}` },
      ),
    };
  }
}

const event = (tag: string, ns = 'payments', stream = 'api'): TagEventEnvelope => ({
  detailType: DETAIL_TYPES.changed,
  detail: {
    version: '1',
    eventId: '58426d67-268a-8c75-9fda-9e425a9eb8bf',
    namespace: ns,
    stream,
    tag,
    streamUid: 'u1',
    time: '2026-11-23T09:14:02Z',
    actor: 'alice',
    change: 'created',
    previous: null,
    current: { image: `sha256:${'ab'.repeat(32)}`, pullSpec: `quay.io/x/y@sha256:${'ab'.repeat(32)}` },
    generation: 1,
  },
});

describe('EventBridgePublisher', () => {
  it('names the stream and the tag in Resources, in the partition, region and account of the bus', async () => {
    const fake = new FakeEventBridge();
    const publisher = new EventBridgePublisher(fake as unknown as EventBridgeClient, BUS, 'io.imagestreams');
    await publisher.publish([event('prod')]);
    expect(fake.entries).toHaveLength(1);
    const [entry] = fake.entries[0]!;
    expect(entry).toMatchObject({
      EventBusName: BUS,
      Source: 'io.imagestreams',
      DetailType: 'ImageStreamTag Changed',
      Resources: [
        'arn:aws:imagestreams:eu-west-1:123456789012:namespaces/payments/imagestreams/api',
        'arn:aws:imagestreams:eu-west-1:123456789012:namespaces/payments/imagestreamtags/api:prod',
      ],
      Time: new Date('2026-11-23T09:14:02Z'),
    });
    expect(JSON.parse(entry!.Detail!).eventId).toBe('58426d67-268a-8c75-9fda-9e425a9eb8bf');
  });

  it('keeps to ten entries a call, each with its own resources, and fails on a refused entry', async () => {
    const fake = new FakeEventBridge();
    const publisher = new EventBridgePublisher(fake as unknown as EventBridgeClient, BUS, 'io.imagestreams');
    await publisher.publish(Array.from({ length: 23 }, (_, i) => event(`t${i}`)));
    expect(fake.entries.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(fake.entries[2]![2]!.Resources![1]).toMatch(/imagestreamtags\/api:t22$/);
    fake.refuse = 'InternalFailure';
    await expect(publisher.publish([event('x')])).rejects.toThrow(/refused 1 events: InternalFailure/);
  });

  it('needs the bus ARN (a bare name says nothing about region and account)', () => {
    const fake = new FakeEventBridge() as unknown as EventBridgeClient;
    expect(() => new EventBridgePublisher(fake, 'imagestreams', 'io.imagestreams')).toThrow(
      /EVENT_BUS_NAME must be the event bus ARN/,
    );
    expect(busLocation('arn:aws-cn:events:cn-north-1:123456789012:event-bus/b')).toEqual({
      partition: 'aws-cn',
      region: 'cn-north-1',
      account: '123456789012',
    });
  });

  it('stays within PutEvents limits for the longest names the API accepts', () => {
    // A namespace is at most 63 characters, a stream name at most 253 (DNS subdomain), a tag at most 128.
    const r = eventResources(
      { partition: 'aws-us-gov', region: 'us-gov-west-1', account: '123456789012' },
      { namespace: 'n'.repeat(63), stream: 's'.repeat(253), tag: 't'.repeat(128) },
    );
    for (const x of r) expect(x.length).toBeLessThanOrEqual(2048);
  });
});
