import { orphanSweepsForTick } from '../app/jobs/orphans';
import { scanJobsForTick } from '../app/jobs/tick';
import type { JobSink } from '../app/ports/jobs';
import type { AppContext } from '../app/shared/context';
import type { Log } from '../app/shared/log';

/**
 * Local mode's EventBridge Scheduler: a tick every `tickSeconds`, on the same nominal boundaries the cloud
 * schedule uses, queuing the same scan jobs.
 */
export class SchedulerTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly sink: JobSink,
    private readonly log: Log,
  ) {}

  start(): void {
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    const tickMs = this.ctx.scheduling.tickSeconds * 1000;
    const next = (Math.floor(Date.now() / tickMs) + 1) * tickMs;
    this.timer = setTimeout(() => {
      this.sink
        .enqueue([
          ...scanJobsForTick(this.ctx, next),
          ...orphanSweepsForTick(next, this.ctx.scheduling.tickSeconds),
        ])
        .catch((e: Error) =>
          this.log({ level: 'error', message: 'scheduler tick failed', error: e.message }),
        );
      this.arm();
    }, next - Date.now());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
