import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleepFor } from 'node:timers/promises';
import {
  asDeadline,
  type Deadline,
  type DeadlineLike,
  exchangeBudget,
  isOver,
  msLeft,
  waitFits,
} from './deadline';
import { RegistryError } from './errors';
import { type HostLookup, type NetworkPolicy, pinnedLookup, resolveDestination } from './network-policy';

export interface TransportOptions {
  network: NetworkPolicy;
  /** Concurrent requests per registry host; registries throttle bursts from one client. */
  maxConcurrentPerHost?: number;
  /** Until response headers arrive (covers connecting). */
  headersTimeoutMs?: number;
  /** Longest silence while reading a body. */
  bodyIdleTimeoutMs?: number;
  /**
   * Longest one exchange may take in all, from connecting to the body's last byte: a registry that trickles a
   * byte now and then is cut off here, not kept alive by its own trickle.
   */
  exchangeTimeoutMs?: number;
  /** Attempts for retryable statuses (429, 408, 502, 503, 504). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Resolves host names (the system resolver by default); every address it returns is checked. */
  lookup?: HostLookup;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Called once per HTTP exchange that reached a server (for metrics and tests). */
  onExchange?: (e: { method: string; url: string; status: number }) => void;
  /** Runs around every exchange (each hop of a redirect, each retry): a trace's subsegment per registry call. */
  traceExchange?: (
    exchange: { method: string; host: string },
    run: () => Promise<RegistryResponse>,
  ) => Promise<RegistryResponse>;
}

export interface RegistryRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  headers?: Record<string, string>;
  /** Sent only to `url`'s origin: dropped when a redirect leaves it. */
  authorization?: string | undefined;
  maxBytes: number;
  /**
   * When the whole request (redirects, retries and their waits, waiting for a connection slot) must be over; no
   * attempt or wait starts that could not end by then, and one under way is cut off at that moment.
   */
  deadline: DeadlineLike;
  /**
   * A successful GET's body is handed over unread, as `stream` (blobs passed on to a client): the exchange's
   * total time limit no longer applies to it, only the idle limit between chunks.
   */
  stream?: boolean;
  /** A redirect to another origin (storage, a CDN) is returned instead of followed, for the caller to pass on. */
  crossOriginRedirects?: 'return';
}

export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  /** Where the final answer came from (after redirects). */
  url: URL;
  /** The unread body of a successful streamed GET (see RegistryRequest.stream); its slot is held until it ends. */
  stream?: StreamedBody;
}

/** A response body read as it arrives; `destroy` ends the exchange early. */
export interface StreamedBody {
  body: AsyncIterable<Buffer>;
  destroy(): void;
}

const RETRYABLE = new Set([408, 429, 502, 503, 504]);
const MAX_REDIRECTS = 5;
const ERROR_BODY_CAP = 8 * 1024;
/** Do not start a wait or an attempt that could not finish before the caller's deadline. */
const SAFETY_MARGIN_MS = 1_000;

/** Why an exchange was cut off: its own time limits, the caller's deadline, or the caller giving up early. */
type Cutoff = 'headers' | 'idle' | 'exchange' | 'deadline' | 'cancelled';

function cutoffMessage(host: string, phase: string, cutoff: Cutoff): string {
  switch (cutoff) {
    case 'deadline':
      return `${host}: timed out ${phase}: the deadline passed`;
    case 'cancelled':
      return `${host}: cancelled ${phase}`;
    default:
      return `${host}: timed out ${phase}`;
  }
}

function deadlineError(host: string, what: string, d: Deadline): RegistryError {
  return new RegistryError(
    'transport',
    d.signal?.aborted && d.signal.reason?.name !== 'TimeoutError'
      ? `${host}: cancelled ${what}`
      : `${host}: the deadline passed ${what}`,
  );
}

/**
 * Connection slots per registry host. A request waits for a slot of its own host only, and never past its
 * deadline; a slot is given back when its exchange ends, however it ends (answer, error, timeout, abort).
 */
export class HostSlots {
  /** Per host: slots in use, and waiters (each says whether it took the slot it is offered). */
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => boolean> }>();
  constructor(private readonly limit: number) {}

  /** Slots in use and requests waiting for one, per host (for tests and metrics). */
  usage(host: string): { active: number; waiting: number } {
    const s = this.hosts.get(host);
    return { active: s?.active ?? 0, waiting: s?.waiting.length ?? 0 };
  }

  acquire(host: string, deadline: Deadline): Promise<() => void> {
    if (isOver(deadline))
      return Promise.reject(deadlineError(host, 'before a connection slot was taken', deadline));
    let s = this.hosts.get(host);
    if (!s) {
      s = { active: 0, waiting: [] };
      this.hosts.set(host, s);
    }
    const slot = s;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.active--;
      // The freed slot goes to the first waiter still in time; one whose deadline has come gives up instead.
      for (let next = slot.waiting.shift(); next; next = slot.waiting.shift()) if (next()) return;
      if (slot.active === 0) this.hosts.delete(host);
    };
    if (slot.active < this.limit) {
      slot.active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = () => {
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onDeadline);
        reject(
          deadlineError(
            host,
            `while waiting for a connection slot (${slot.active} requests to this registry in flight)`,
            deadline,
          ),
        );
      };
      const offered = () => {
        if (isOver(deadline)) {
          giveUp();
          return false;
        }
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onDeadline);
        slot.active++;
        resolve(release);
        return true;
      };
      const onDeadline = () => {
        const i = slot.waiting.indexOf(offered);
        if (i >= 0) slot.waiting.splice(i, 1);
        giveUp();
      };
      timer = setTimeout(onDeadline, msLeft(deadline));
      deadline.signal?.addEventListener('abort', onDeadline, { once: true });
      slot.waiting.push(offered);
    });
  }
}

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

/**
 * HTTP for registries: bounded waits and sizes, redirects followed by hand (so every hop is address-checked and
 * `Authorization` never reaches another origin), and retries that respect the registry: `Retry-After` when it fits
 * the time left, full-jitter backoff otherwise, GET/HEAD only, and never for a Docker Hub pull-quota 429.
 *
 * Every exchange ends by the request's deadline: connecting, waiting for headers and reading the body all count
 * against it (a trickle of bytes does not extend it), as do waits for a retry or for a connection slot. Each
 * connection goes to the addresses the network policy just checked (the socket's lookup is pinned to them).
 */
export class RegistryTransport {
  readonly slots: HostSlots;
  private readonly quotas = new Map<string, QuotaHint>();
  private readonly agents = {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true }),
  };
  private readonly o: Required<Omit<TransportOptions, 'onExchange' | 'lookup' | 'traceExchange'>> &
    Pick<TransportOptions, 'onExchange' | 'lookup' | 'traceExchange'>;

  constructor(opts: TransportOptions) {
    this.o = {
      maxConcurrentPerHost: 4,
      headersTimeoutMs: 15_000,
      bodyIdleTimeoutMs: 15_000,
      exchangeTimeoutMs: 30_000,
      maxAttempts: 4,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      sleep: (ms, signal) => sleepFor(ms, undefined, { signal }),
      random: Math.random,
      ...opts,
    };
    this.slots = new HostSlots(this.o.maxConcurrentPerHost);
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
    const deadline = asDeadline(req.deadline);
    for (let attempt = 1; ; attempt++) {
      const res = await this.once(req, deadline);
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
      const hinted = retryAfterMs(res.headers.get('retry-after'));
      const wait =
        hinted ?? this.o.random() * Math.min(this.o.backoffCapMs, this.o.backoffBaseMs * 2 ** (attempt - 1));
      if (attempt >= this.o.maxAttempts || !waitFits(wait, deadline, SAFETY_MARGIN_MS)) {
        if (res.status === 429)
          throw new RegistryError('rate-limited', `${res.url.host}: too many requests (429)`, {
            status: 429,
            retryAfterMs: hinted ?? 60_000,
          });
        return res;
      }
      try {
        await this.o.sleep(wait, deadline.signal);
      } catch {
        throw deadlineError(res.url.host, 'while waiting to retry', deadline);
      }
    }
  }

  /** One attempt, following redirects. */
  private async once(req: RegistryRequest, deadline: Deadline): Promise<RegistryResponse> {
    let url = req.url;
    let authorization = req.authorization;
    const origin = req.url.origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (isOver(deadline)) throw deadlineError(url.host, 'before the request was sent', deadline);
      const addresses = await resolveDestination(url, this.o.network, this.o.lookup, deadline);
      const exchange = () => this.exchange(req, url, authorization, addresses, deadline);
      const res = await (this.o.traceExchange
        ? this.o.traceExchange({ method: req.method, host: url.host }, exchange)
        : exchange());
      if (![301, 302, 303, 307, 308].includes(res.status)) return res;
      const location = res.headers.get('location');
      if (!location) return res;
      const next = new URL(location, url);
      if (req.crossOriginRedirects === 'return' && next.origin !== origin) return res;
      if (next.protocol === 'http:' && url.protocol === 'https:')
        throw new RegistryError('forbidden', `${url.host} redirected to plain HTTP (${next.host})`);
      // Credentials are for the registry only: a blob store behind a redirect gets a pre-signed URL instead.
      if (next.origin !== origin) authorization = undefined;
      url = next;
    }
    throw new RegistryError('transport', `${req.url.host}: more than ${MAX_REDIRECTS} redirects`);
  }

  /** One HTTP exchange with one host, holding one of its slots until the exchange is over. */
  private async exchange(
    req: RegistryRequest,
    url: URL,
    authorization: string | undefined,
    addresses: string[],
    deadline: Deadline,
  ): Promise<RegistryResponse> {
    const release = await this.slots.acquire(url.host, deadline);
    const controller = new AbortController();
    let cutoff: Cutoff | undefined;
    const cut = (why: Cutoff) => {
      if (cutoff) return;
      cutoff = why;
      controller.abort();
    };
    const budget = exchangeBudget(deadline, this.o.exchangeTimeoutMs);
    const total = setTimeout(() => cut(budget.cause), budget.ms);
    const onCallerAbort = () =>
      cut(deadline.signal?.reason?.name === 'TimeoutError' ? 'deadline' : 'cancelled');
    deadline.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (deadline.signal?.aborted) onCallerAbort();
    let idle = setTimeout(() => cut('headers'), this.o.headersTimeoutMs);
    let phase = 'waiting for a response';
    let handedOff = false;
    const failure = (e: unknown, beforeResponse: boolean): RegistryError => {
      if (cutoff)
        return new RegistryError('transport', cutoffMessage(url.host, phase, cutoff), {
          // Nothing answered in time: to the caller that is like a refused connection (it may try plain HTTP),
          // unless the deadline or the caller ended it, after which nothing new starts.
          noResponse: beforeResponse && (cutoff === 'headers' || cutoff === 'exchange'),
        });
      if (e instanceof RegistryError) return new RegistryError(e.kind, `${url.host}: ${e.message}`);
      return new RegistryError('transport', `${url.host}: ${describeError(e)}`, {
        noResponse: beforeResponse,
      });
    };
    try {
      const headers: Record<string, string> = {
        'user-agent': 'imagestreams-importer',
        // Digests are over the bytes as stored; a compressed transfer would only need undoing.
        'accept-encoding': 'identity',
        ...req.headers,
      };
      if (authorization) headers.authorization = authorization;
      const res = await send(url, {
        method: req.method,
        headers,
        agent: url.protocol === 'https:' ? this.agents.https : this.agents.http,
        lookup: pinnedLookup(addresses),
        signal: controller.signal,
      }).catch((e) => {
        throw failure(e, true);
      });
      clearTimeout(idle);
      controller.signal.addEventListener('abort', () => res.destroy(), { once: true });
      this.o.onExchange?.({ method: req.method, url: url.href, status: res.statusCode ?? 0 });
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const cap = ok ? req.maxBytes : ERROR_BODY_CAP;
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      if (ok && req.method === 'GET' && declared > cap) {
        res.destroy();
        throw new RegistryError(
          'transport',
          `${url.host}: response of ${declared} bytes exceeds the ${cap}-byte limit`,
        );
      }
      phase = 'reading the response body';
      if (req.stream && ok && req.method === 'GET') {
        // The body goes to the caller as it arrives: the slot is held until it ends, the idle limit still applies.
        handedOff = true;
        clearTimeout(total);
        deadline.signal?.removeEventListener('abort', onCallerAbort);
        const idleMs = this.o.bodyIdleTimeoutMs;
        const resetIdle = () => {
          clearTimeout(idle);
          idle = setTimeout(() => res.destroy(new Error(`${url.host}: timed out reading the body`)), idleMs);
        };
        resetIdle();
        res.once('close', () => {
          clearTimeout(idle);
          release();
        });
        // Read only as the consumer asks (backpressure): a 'data' listener would let the body flow away unread.
        async function* chunks(): AsyncGenerator<Buffer> {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            resetIdle();
            yield chunk;
          }
        }
        const stream = { body: chunks(), destroy: () => res.destroy() };
        return { status, headers: headersOf(res), body: Buffer.alloc(0), url, stream };
      }
      let body: Buffer;
      if (req.method === 'HEAD') {
        res.resume();
        body = Buffer.alloc(0);
      } else {
        body = await readCapped(res, cap, ok, () => {
          clearTimeout(idle);
          idle = setTimeout(() => cut('idle'), this.o.bodyIdleTimeoutMs);
        }).catch((e) => {
          throw failure(e, false);
        });
      }
      return { status, headers: headersOf(res), body, url };
    } finally {
      if (!handedOff) {
        clearTimeout(total);
        clearTimeout(idle);
        deadline.signal?.removeEventListener('abort', onCallerAbort);
        release();
      }
    }
  }
}

/** Sends a request without a body; resolves with the response once its headers arrived. */
function send(
  url: URL,
  opts: {
    method: string;
    headers: Record<string, string>;
    agent: HttpAgent;
    lookup: ReturnType<typeof pinnedLookup>;
    signal: AbortSignal;
  },
  mayResend = true,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let answered = false;
    const req = request(url, opts, (res) => {
      answered = true;
      // Errors after this point surface through reading the body.
      res.on('error', () => undefined);
      resolve(res);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed just as it was reused: send once more on a new one.
      if (!answered && mayResend && req.reusedSocket && e.code === 'ECONNRESET' && !opts.signal.aborted)
        resolve(send(url, opts, false));
      else reject(e);
    });
    req.end();
  });
}

function headersOf(res: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!);
    } catch {
      // A header value fetch's Headers rejects is one no registry logic reads.
    }
  }
  return headers;
}

/** Reads a body up to `cap` bytes; error bodies are truncated, success bodies over the cap are an error. */
async function readCapped(
  stream: IncomingMessage,
  cap: number,
  strict: boolean,
  onProgress: () => void,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  onProgress();
  // Leaving the loop early (cap reached, error) destroys the stream and its connection.
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    onProgress();
    total += chunk.byteLength;
    if (total > cap) {
      if (strict) throw new RegistryError('transport', `response exceeds the ${cap}-byte limit`);
      chunks.push(chunk.subarray(0, chunk.byteLength - (total - cap)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  const message = err.message || err.cause?.message;
  if (code) return `${code}${message ? ` (${message})` : ''}`;
  return message || String(e);
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
