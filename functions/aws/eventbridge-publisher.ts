import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventPublisher } from '../app/ports/events';
import type { TagEventEnvelope } from '../core/events/tag-events';

/** PutEvents takes at most ten entries per call. */
const MAX_ENTRIES = 10;

/**
 * Tag events onto the service's custom bus. Any entry EventBridge refuses fails the whole call, so the table
 * stream hands the record to the processor again (at least once; consumers de-duplicate on `detail.eventId`).
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly source: string,
  ) {}

  async publish(events: TagEventEnvelope[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      const batch = events.slice(i, i + MAX_ENTRIES);
      const out = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            EventBusName: this.busName,
            Source: this.source,
            DetailType: e.detailType,
            Detail: JSON.stringify(e.detail),
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
