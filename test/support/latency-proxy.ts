import { Agent, createServer, request as forward } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A registry "far away": an HTTP proxy on loopback that holds every request for a while before forwarding it. */
export interface LatencyProxy {
  /** `127.0.0.1:<port>`, to use in image references instead of the registry's own host. */
  host: string;
  /** Requests received so far. */
  received(): number;
  /** Requests received and not yet answered (held or forwarded). */
  inFlight(): number;
  /** The most requests that were in flight at once. */
  peakInFlight(): number;
  stop(): Promise<void>;
}

export interface LatencyProxyOptions {
  /** Send response bodies one byte per this many milliseconds: a registry that trickles bytes, never quite silent. */
  trickleMs?: number;
}

/** Forwards to `target` (`http://127.0.0.1:<port>`) after `delayMs`; loopback only. */
export async function startLatencyProxy(
  target: string,
  delayMs: number,
  opts: LatencyProxyOptions = {},
): Promise<LatencyProxy> {
  const upstream = new URL(target);
  if (upstream.hostname !== '127.0.0.1') throw new Error('latency proxy: loopback targets only');
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let received = 0;
  let inFlight = 0;
  let peak = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    received++;
    inFlight++;
    peak = Math.max(peak, inFlight);
    res.once('close', () => inFlight--);
    const t = setTimeout(() => {
      timers.delete(t);
      const out = forward(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          if (opts.trickleMs === undefined) {
            up.pipe(res);
            return;
          }
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => trickle(Buffer.concat(chunks), 0));
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    }, delayMs);
    timers.add(t);
    /** One byte, then the rest later: bounded by the body's length. */
    const trickle = (body: Buffer, at: number) => {
      if (res.destroyed) return;
      if (at >= body.length) {
        res.end();
        return;
      }
      res.write(body.subarray(at, at + 1));
      const next = setTimeout(() => {
        timers.delete(next);
        trickle(body, at + 1);
      }, opts.trickleMs);
      timers.add(next);
    };
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    received: () => received,
    inFlight: () => inFlight,
    peakInFlight: () => peak,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.destroy();
    },
  };
}
