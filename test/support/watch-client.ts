import { request } from 'node:http';

export interface WatchEventLine {
  type: string;
  object: any;
}

/**
 * A raw watch client over node:http (loopback only): collects the newline-delimited events of one watch
 * response, and tells when the server ended it.
 */
export class WatchStream {
  readonly events: WatchEventLine[] = [];
  status = 0;
  contentType = '';
  /** The body when the answer was not a stream (a refusal). */
  body = '';
  ended: Promise<void>;
  private endedAt: number | undefined;
  private abort = new AbortController();
  private waiters: Array<() => void> = [];

  constructor(baseUrl: string, token: string, path: string, headers: Record<string, string> = {}) {
    const url = new URL(path, baseUrl);
    if (url.hostname !== '127.0.0.1') throw new Error('watch tests use loopback only');
    this.ended = new Promise<void>((resolve) => {
      const req = request(
        url,
        { headers: { authorization: `Bearer ${token}`, ...headers }, signal: this.abort.signal },
        (res) => {
          this.status = res.statusCode ?? 0;
          this.contentType = String(res.headers['content-type'] ?? '');
          let pending = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (this.status !== 200) {
              this.body += chunk;
              return;
            }
            pending += chunk;
            for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
              const line = pending.slice(0, nl);
              pending = pending.slice(nl + 1);
              if (line.trim()) this.events.push(JSON.parse(line));
            }
            for (const w of this.waiters.splice(0)) w();
          });
          res.on('end', () => {
            this.endedAt = Date.now();
            resolve();
            for (const w of this.waiters.splice(0)) w();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('error', () => {
        this.endedAt = Date.now();
        resolve();
        for (const w of this.waiters.splice(0)) w();
      });
      req.end();
    });
  }

  get done(): boolean {
    return this.endedAt !== undefined;
  }

  /** Waits until `count` events arrived (or the stream ended, or `timeoutMs` passed); returns the events. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<WatchEventLine[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count && !this.done && Date.now() < deadline)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    return this.events;
  }

  close(): void {
    this.abort.abort();
  }
}
