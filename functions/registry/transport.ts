import { RegistryError } from './errors';
import { checkDestination, type NetworkPolicy, type Resolver } from './network-policy';

export interface TransportOptions {
  network: NetworkPolicy;
  /** Concurrent requests per registry host; registries throttle bursts from one client. */
  maxConcurrentPerHost?: number;
  /** Until response headers arrive (covers connecting). */
  headersTimeoutMs?: number;
  /** Longest silence while reading a body. */
  bodyIdleTimeoutMs?: number;
  /** Attempts for retryable statuses (429, 408, 502, 503, 504). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  fetch?: typeof fetch;
  resolve?: Resolver;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called once per HTTP exchange that reached a server (for metrics and tests). */
  onExchange?: (e: { method: string; url: string; status: number }) => void;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  headers?: Record<string, string>;
  /** Sent only to `url`'s origin: dropped when a redirect leaves it. */
  authorization?: string | undefined;
  maxBytes: number;
  /** Absolute time (ms since epoch) after which no new attempt or wait starts. */
  deadline: number;
}

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Where the final answer came from (after redirects). */
  url: URL;
}

const RETRYABLE = new Set([408, 429, 502, 503, 504]);
const MAX_REDIRECTS = 5;
const ERROR_BODY_CAP = 8 * 1024;
/** Do not start a wait or an attempt that could not finish before the caller's deadline. */
const SAFETY_MARGIN_MS = 1_000;

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    return () => {
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

/**
 * HTTP for registries: bounded waits and sizes, redirects followed by hand (so every hop is address-checked and
 * `Authorization` never reaches another origin), and retries that respect the registry: `Retry-After` when it fits
 * the time left, full-jitter backoff otherwise, GET/HEAD only, and never for a Docker Hub pull-quota 429.
 */
/**
 * What a registry last said about its request quota: Docker Hub's `ratelimit-remaining: N;w=SECONDS`, or the IETF
 * draft's `ratelimit-remaining: N` with `ratelimit-reset: SECONDS`. Kept per host so callers that pace themselves
 * (the scheduler) can slow down before the registry answers 429.
 */
export interface QuotaHint {
  remaining: number;
  limit?: number;
  /** When the window is expected to refill (ms since epoch). */
  resetAtMs: number;
}

/** Hosts whose quota was seen are remembered up to this many (oldest forgotten first). */
const MAX_QUOTA_HOSTS = 1_000;

export class RegistryTransport {
  private readonly hosts = new Map<string, Semaphore>();
  private readonly quotas = new Map<string, QuotaHint>();
  private readonly o: Required<Omit<TransportOptions, 'onExchange' | 'resolve'>> &
    Pick<TransportOptions, 'onExchange' | 'resolve'>;

  constructor(opts: TransportOptions) {
    this.o = {
      maxConcurrentPerHost: 4,
      headersTimeoutMs: 15_000,
      bodyIdleTimeoutMs: 15_000,
      maxAttempts: 4,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      fetch: globalThis.fetch.bind(globalThis),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      ...opts,
    };
  }

  get network(): NetworkPolicy {
    return this.o.network;
  }

  /** The quota a host's last answer announced, if it announced one. */
  quota(host: string): QuotaHint | undefined {
    return this.quotas.get(host);
  }

  private noteQuota(res: RegistryResponse): void {
    const hint = parseQuota(res.headers, Date.now());
    if (!hint) return;
    this.quotas.delete(res.url.host);
    this.quotas.set(res.url.host, hint);
    if (this.quotas.size > MAX_QUOTA_HOSTS) this.quotas.delete(this.quotas.keys().next().value as string);
  }

  async request(req: RegistryRequest): Promise<RegistryResponse> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.once(req);
      this.noteQuota(res);
      if (!RETRYABLE.has(res.status)) return res;
      if (res.status === 429 && isPullQuota(res))
        throw new RegistryError(
          'rate-limited',
          `${res.url.host}: pull rate limit reached (${quotaText(res)})`,
          {
            status: 429,
            retryAfterMs: retryAfterMs(res.headers.get('retry-after')) ?? 15 * 60_000,
          },
        );
      const left = req.deadline - Date.now() - SAFETY_MARGIN_MS;
      const hinted = retryAfterMs(res.headers.get('retry-after'));
      const wait =
        hinted ?? this.o.random() * Math.min(this.o.backoffCapMs, this.o.backoffBaseMs * 2 ** (attempt - 1));
      if (attempt >= this.o.maxAttempts || wait > left) {
        if (res.status === 429)
          throw new RegistryError('rate-limited', `${res.url.host}: too many requests (429)`, {
            status: 429,
            retryAfterMs: hinted ?? 60_000,
          });
        return res;
      }
      await this.o.sleep(wait);
    }
  }

  /** One attempt, following redirects. */
  private async once(req: RegistryRequest): Promise<RegistryResponse> {
    let url = req.url;
    let authorization = req.authorization;
    const origin = req.url.origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      await checkDestination(url, this.o.network, this.o.resolve);
      const res = await this.exchange(req, url, authorization);
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.get('location');
      if (!location) return res;
      const next = new URL(location, url);
      if (next.protocol === 'http:' && url.protocol === 'https:')
        throw new RegistryError('forbidden', `${url.host} redirected to plain HTTP (${next.host})`);
      // Credentials are for the registry only: a blob store behind a redirect gets a pre-signed URL instead.
      if (next.origin !== origin) authorization = undefined;
      url = next;
    }
    throw new RegistryError('transport', `${req.url.host}: more than ${MAX_REDIRECTS} redirects`);
  }

  private async exchange(
    req: RegistryRequest,
    url: URL,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    const release = await this.semaphore(url.host).acquire();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = '';
    const arm = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = what;
        controller.abort();
      }, ms);
    };
    try {
      arm(
        Math.min(this.o.headersTimeoutMs, Math.max(1, req.deadline - Date.now())),
        'waiting for a response',
      );
      const headers: Record<string, string> = { 'user-agent': 'imagestreams-importer', ...req.headers };
      if (authorization) headers.authorization = authorization;
      let res: Response;
      try {
        res = await this.o.fetch(url, {
          method: req.method,
          headers,
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (e) {
        if (timedOut)
          throw new RegistryError('transport', `${url.host}: timed out ${timedOut}`, { noResponse: true });
        throw new RegistryError('transport', `${url.host}: ${describeFetchError(e)}`, { noResponse: true });
      }
      this.o.onExchange?.({ method: req.method, url: url.href, status: res.status });
      const ok = res.status >= 200 && res.status < 300;
      const cap = ok ? req.maxBytes : ERROR_BODY_CAP;
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (ok && req.method === 'GET' && declared > cap) {
        controller.abort();
        throw new RegistryError(
          'transport',
          `${url.host}: response of ${declared} bytes exceeds the ${cap}-byte limit`,
        );
      }
      const body =
        req.method === 'HEAD' || !res.body
          ? Buffer.alloc(0)
          : await readCapped(res.body, cap, ok, () =>
              arm(this.o.bodyIdleTimeoutMs, 'reading the response body'),
            ).catch((e) => {
              controller.abort();
              if (timedOut) throw new RegistryError('transport', `${url.host}: timed out ${timedOut}`);
              if (e instanceof RegistryError) throw new RegistryError(e.kind, `${url.host}: ${e.message}`);
              throw new RegistryError('transport', `${url.host}: ${describeFetchError(e)}`);
            });
      return { status: res.status, headers: res.headers, body, url };
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  private semaphore(host: string): Semaphore {
    let s = this.hosts.get(host);
    if (!s) {
      s = new Semaphore(this.o.maxConcurrentPerHost);
      this.hosts.set(host, s);
    }
    return s;
  }
}

/** Reads a body up to `cap` bytes; error bodies are truncated, success bodies over the cap are an error. */
async function readCapped(
  stream: ReadableStream<Uint8Array>,
  cap: number,
  strict: boolean,
  onProgress: () => void,
): Promise<Buffer> {
  const reader = stream.getReader();
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      onProgress();
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        if (strict) throw new RegistryError('transport', `response exceeds the ${cap}-byte limit`);
        chunks.push(Buffer.from(value.subarray(0, value.byteLength - (total - cap))));
        break;
      }
      chunks.push(Buffer.from(value));
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks);
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err.message || String(e);
}

/** RFC 9110 §10.2.3: delta-seconds or an HTTP-date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Docker Hub's pull quota (as opposed to its abuse limit): retrying spends more quota, so the caller re-queues
 * for after the window instead.
 */
/** Reads quota headers (see {@link QuotaHint}); undefined when the answer carries none. */
export function parseQuota(headers: Headers, nowMs: number): QuotaHint | undefined {
  const remaining = headers.get('ratelimit-remaining');
  if (remaining === null) return undefined;
  const m = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(remaining);
  if (!m) return undefined;
  const limit = /^\s*(\d+)/.exec(headers.get('ratelimit-limit') ?? '');
  const reset = /^\s*(\d+)\s*$/.exec(headers.get('ratelimit-reset') ?? '');
  const seconds = reset ? Number(reset[1]) : m[2] ? Number(m[2]) : 60;
  return {
    remaining: Number(m[1]),
    ...(limit ? { limit: Number(limit[1]) } : {}),
    resetAtMs: nowMs + Math.min(seconds, 86_400) * 1000,
  };
}

function isPullQuota(res: RegistryResponse): boolean {
  const remaining = res.headers.get('ratelimit-remaining');
  return (
    /pull rate limit/i.test(res.body.toString('utf8')) || (remaining !== null && /^0(;|$)/.test(remaining))
  );
}

function quotaText(res: RegistryResponse): string {
  const limit = res.headers.get('ratelimit-limit');
  return limit ? `limit ${limit}` : 'see the registry account limits';
}
