import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventPublisher } from '../app/ports/events';
import type { TagEventEnvelope } from '../core/events/tag-events';

/** PutEvents takes at most ten entries per call. */
const MAX_ENTRIES = 10;

/** Where the bus lives: the partition, region and account the events' resource identifiers name. */
export interface BusLocation {
  partition: string;
  region: string;
  account: string;
}

const BUS_ARN = /^arn:(aws[a-z-]*):events:([a-z0-9-]+):(\d{12}):event-bus\/[A-Za-z0-9._\-/]+$/;

/** The partition, region and account of an event bus ARN; undefined for a bus name. */
export function busLocation(busNameOrArn: string): BusLocation | undefined {
  const m = BUS_ARN.exec(busNameOrArn);
  return m ? { partition: m[1]!, region: m[2]!, account: m[3]! } : undefined;
}

/**
 * The `resources` of a tag event (docs/events.md, "Resources"): the image stream and the image stream tag it is
 * about, as ARN-shaped identifiers in the service's own namespace,
 * `arn:<partition>:imagestreams:<region>:<account>:namespaces/<ns>/imagestreams/<stream>` and
 * `…:namespaces/<ns>/imagestreamtags/<stream>:<tag>` (the API's own paths), so a rule can match one stream or one
 * tag with a `resources` pattern, prefix or wildcard, as it would an AWS resource.
 */
export function eventResources(
  where: BusLocation,
  detail: { namespace: string; stream: string; tag: string },
): string[] {
  const base = `arn:${where.partition}:imagestreams:${where.region}:${where.account}:namespaces/${detail.namespace}`;
  return [`${base}/imagestreams/${detail.stream}`, `${base}/imagestreamtags/${detail.stream}:${detail.tag}`];
}

/**
 * Tag events onto the service's custom bus. Any entry EventBridge refuses fails the whole call, so the table
 * stream hands the record to the processor again (at least once; consumers de-duplicate on `detail.eventId`,
 * since the envelope `id` is EventBridge's own, new for every PutEvents).
 *
 * `busArn` is the bus's ARN (PutEvents takes it in place of the name): the events' `resources` name the bus's
 * partition, region and account.
 */
export class EventBridgePublisher implements EventPublisher {
  private readonly where: BusLocation;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly busArn: string,
    private readonly source: string,
  ) {
    const where = busLocation(busArn);
    if (!where)
      throw new Error(
        `EVENT_BUS_NAME must be the event bus ARN (arn:<partition>:events:<region>:<account>:event-bus/<name>), got "${busArn}"`,
      );
    this.where = where;
  }

  async publish(events: TagEventEnvelope[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      const batch = events.slice(i, i + MAX_ENTRIES);
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            EventBusName: this.busArn,
            Source: this.source,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
            Resources: eventResources(this.where, e.detail),
            Time: new Date(e.detail.time),
          })),
        }),
      );
      if (out.FailedEntryCount) {
        const codes = (out.Entries ?? []).flatMap((e) => (e.ErrorCode ? [e.ErrorCode] : []));
        throw new Error(
          `EventBridge refused ${out.FailedEntryCount} events: ${[...new Set(codes)].join(', ')}`,
        );
      }
    }
  }
}
