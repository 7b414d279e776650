import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { StreamChange } from '../app/ports/events';
import type { Log } from '../app/shared/log';
import { toStreamChange } from '../store/stream-records';

const POLL_MS = 250;
const MAX_SHARDS = 1_000;

export interface StreamPollerOptions {
  endpoint: string;
  table: string;
  dynamodb: DynamoDBClient;
  /** Where the last processed sequence number per shard is kept, so a restart resumes there. */
  checkpointFile: string;
  /** Sleep between polls of an idle stream. */
  pollMs?: number;
  onChanges: (changes: StreamChange[]) => Promise<void>;
  log: Log;
}

/**
 * Local mode's equivalent of the Lambda event source on the table's stream: reads DynamoDB Local's stream shard by
 * shard (following splits) and hands batches of changes on. Starts from the checkpoint, else from the oldest record
 * (processing is idempotent, so re-reading is harmless).
 */
export class StreamPoller {
  private readonly streams: DynamoDBStreamsClient;
  private readonly checkpoint: Record<string, string>;
  private readonly iterators = new Map<string, string | undefined>();
  private readonly finished = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Callers of `settle` waiting for a pass that starts after their call and finds nothing new. */
  private settling: Array<() => void> = [];

  constructor(private readonly o: StreamPollerOptions) {
    this.streams = new DynamoDBStreamsClient({
      endpoint: o.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.checkpoint = existsSync(o.checkpointFile)
      ? (JSON.parse(readFileSync(o.checkpointFile, 'utf8')) as Record<string, string>)
      : {};
  }

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const table = await this.o.dynamodb.send(new DescribeTableCommand({ TableName: this.o.table }));
    const arn = table.Table?.LatestStreamArn;
    if (!arn) throw new Error(`table ${this.o.table} has no stream`);
    let lastDescribe = 0;
    while (!this.stopped) {
      let waiting: Array<() => void> = [];
      try {
        if (
          Date.now() - lastDescribe > 10_000 ||
          [...this.iterators.values()].every((i) => i === undefined)
        ) {
          await this.discoverShards(arn);
          lastDescribe = Date.now();
        }
        let busy = false;
        waiting = this.settling;
        this.settling = [];
        for (const [shard, iterator] of this.iterators) {
          if (!iterator || this.stopped) continue;
          const out = await this.streams.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
          );
          const records = out.Records ?? [];
          if (records.length) {
            busy = true;
            await this.o.onChanges(records.map(toStreamChange));
            this.checkpoint[shard] = records.at(-1)!.dynamodb!.SequenceNumber!;
            this.saveCheckpoint();
          }
          this.iterators.set(shard, out.NextShardIterator);
          if (!out.NextShardIterator) this.finished.add(shard);
        }
        if (busy) this.settling.push(...waiting);
        else for (const settled of waiting) settled();
        if (!busy && this.settling.length === 0) await this.pause(this.o.pollMs ?? POLL_MS);
      } catch (e) {
        if (this.stopped) break;
        this.settling.push(...waiting);
        this.o.log({ level: 'error', message: 'stream poller error', error: (e as Error).message });
        this.iterators.clear();
        await this.pause(1_000);
      }
    }
  }

  /**
   * Resolves once every change the table held when called has been handed on: after a full pass over the shards
   * that starts after the call and finds nothing new. Rejects when that takes longer than `timeoutMs`.
   */
  settle(timeoutMs = 10_000): Promise<void> {
    if (this.stopped || !this.loop) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settling = this.settling.filter((w) => w !== settled);
        reject(new Error(`the table's stream was not drained within ${timeoutMs} ms`));
      }, timeoutMs);
      const settled = () => {
        clearTimeout(timer);
        resolve();
      };
      this.settling.push(settled);
      this.wake?.();
    });
  }

  private async discoverShards(arn: string): Promise<void> {
    let start: string | undefined;
    for (let page = 0; page < MAX_SHARDS; page++) {
      const out = await this.streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      for (const shard of out.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId!;
        if (this.iterators.get(id) || this.finished.has(id)) continue;
        const seq = this.checkpoint[id];
        const it = await this.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: id,
            ...(seq
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        );
        this.iterators.set(id, it.ShardIterator);
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
      if (!start) break;
    }
  }

  private saveCheckpoint(): void {
    const tmp = `${this.o.checkpointFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.checkpoint));
    renameSync(tmp, this.o.checkpointFile);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const settled of this.settling.splice(0)) settled();
    this.wake?.();
    await this.loop?.catch(() => undefined);
    this.streams.destroy();
  }
}
