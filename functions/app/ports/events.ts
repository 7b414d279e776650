import type { TagEventEnvelope } from '../../core/events/tag-events';

/**
 * Where tag events go (EventBridge in AWS, functions/aws/eventbridge-publisher.ts; a file and webhooks locally,
 * functions/local/event-sink.ts). Throws when any event could not be published, so the change is processed again.
 */
export interface EventPublisher {
  publish(events: TagEventEnvelope[]): Promise<void>;
}
