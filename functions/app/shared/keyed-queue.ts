/**
 * Runs tasks with the same key one after another within this process. Writers of one stream's tags in one process
 * then queue instead of racing (a lost race costs a read, a failed transaction and a back-off); writers in other
 * processes or Lambda containers are still ordered by the conditional writes.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
