import type { TagEventEnvelope } from '../../core/events/tag-events';
import type { StreamHead, TagRecord } from '../../core/imagestream/model';

/**
 * Where tag events go (EventBridge in AWS, functions/aws/eventbridge-publisher.ts; a file and webhooks locally,
 * functions/local/event-sink.ts). Throws when any event could not be published, so the change is processed again.
 */
export interface EventPublisher {
  publish(events: TagEventEnvelope[]): Promise<void>;
}

/**
 * One change of the table as the change processor sees it: a tag record or a stream head that changed, or any other
 * record (which the processor leaves alone). The store translates the table's change records into these
 * (functions/store/stream-records.ts); the processor never reads table keys.
 */
export type StreamChange = (
  | {
      kind: 'tag';
      namespace: string;
      stream: string;
      /** The tag record before and after the change (absent: it did not exist). */
      before?: StoredTag | undefined;
      after?: StoredTag | undefined;
    }
  | {
      kind: 'head';
      namespace: string;
      stream: string;
      /** The head was removed (the stream deleted); `by` is its deleter, stamped onto the head before the delete. */
      removed: boolean;
      by?: string | undefined;
      /** The stream incarnation the head belongs to, and its resourceVersion (the new head's, else the old one's). */
      uid?: string | undefined;
      resourceVersion?: number | undefined;
      /** The head as written (absent for a removal, and for a large create's head until it is revealed). */
      head?: StreamHead | undefined;
    }
  | {
      /** A settle probe of the watch log (functions/store/watch-log.ts): answered once the changes before it are logged. */
      kind: 'probe';
      token: string;
    }
  | { kind: 'other' }
) & {
  /** When the table recorded the change (ISO time), if the stream said. */
  observedAt?: string | undefined;
  /** The change's sequence number, to report where a batch must be retried from. */
  sequence?: string | undefined;
};

/** A tag record as stored: the record, the stream incarnation it belongs to and its last writer. */
export interface StoredTag {
  streamUid: string;
  tag: TagRecord;
  by?: string | undefined;
}
