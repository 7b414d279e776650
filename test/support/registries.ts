/**
 * Real registries for tests: Debian's docker-registry (distribution 2.8.2) on loopback with anonymous, htpasswd or
 * token auth (Docker's registry token authentication). Content comes from ./test-images (re-exported here, so tests import one
 * module); the token server from ./token-server.
 *
 * Every registry is its own process with its own temp dir, port and log, so test files can run in parallel.
 * Processes never outlive the test process: stop() stops the wrapper shell and checks that its process group is
 * empty, an exit hook kills what is left, and a watchdog in the wrapper shell stops the registry when the test
 * process dies without running hooks (vitest ends its workers that way, and SIGKILL does).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import {
  PASSWORD,
  startTokenServer,
  TOKEN_ISSUER,
  TOKEN_SERVICE,
  type TokenServer,
  USER,
} from './token-server';

export * from './test-images';
export {
  PASSWORD,
  startTokenServer,
  TOKEN_ISSUER,
  TOKEN_SERVICE,
  type TokenAccess,
  type TokenRequest,
  type TokenServer,
  type TokenServerOptions,
  USER,
} from './token-server';

const run = promisify(execFile);

export type RegistryKind = 'anonymous' | 'htpasswd' | 'token';

/** One request as the registry's access log recorded it. */
export interface RegistryRequest {
  method: string;
  /** Path and query exactly as sent (`/v2/tiny/app/tags/list?n=1`). */
  uri: string;
  status: number;
}

export interface RegistryOptions {
  /** How long to wait for GET /v2/ to answer; default 10 s. */
  startTimeoutMs?: number;
  /** Token lifetime for a token registry (seconds); default 300. */
  tokenExpiresIn?: number;
  /** Keep the temp dir (storage, config, log) after stop(), to look at a failure. */
  keepDir?: boolean;
  /** Send distribution notifications (one event per POST) to this endpoint, with these headers. */
  notify?: { url: string; headers?: Record<string, string[]> };
  /**
   * Answer blob GETs with a redirect to this origin (distribution's `redirect` storage middleware), as registries
   * backed by S3 or a CDN do; the path is the blob's path below the registry's `storage/` directory.
   */
  redirectBlobsTo?: string;
  /** Run as a pull-through cache of another registry (distribution's `proxy` section). */
  proxy?: { remoteurl: string; username?: string; password?: string };
}

export interface Registry {
  kind: RegistryKind;
  /** `127.0.0.1:<port>`, as used in image references. */
  host: string;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Credentials that work (htpasswd and token kinds). */
  username?: string;
  password?: string;
  tokenServer?: TokenServer;
  /** Temp dir holding config.yml, storage/ and registry.log. */
  dir: string;
  /** Process group of the registry (its wrapper shell's pid): `process.kill(-pid, 0)` tells whether any is left. */
  pid: number;
  logFile: string;
  /**
   * Requests since start (or the last resetLog()), in the order the registry finished them. Synchronous on
   * purpose: distribution writes the access-log line before the last bytes of the response leave the process,
   * so once a response has been read, its line is already in the file. (`await reg.requests()` works too.)
   */
  requests(): RegistryRequest[];
  /** The current number of requests, to pass to since(). */
  mark(): number;
  /** Requests after a mark() taken earlier. */
  since(mark: number): RegistryRequest[];
  /** Forget the requests so far: requests() and mark() count from here. The log file itself is kept. */
  resetLog(): void;
  /** The raw log (access log and JSON application log, interleaved), for failure messages. */
  log(): Promise<string>;
  /** Kills the registry (and the token server); idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------

/** Live process groups (the wrapper shell's pid is the group id, because it is spawned detached). */
const groups = new Set<number>();
/** Temp dirs of registries not stopped yet (without keepDir). */
const dirs = new Set<string>();

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: the group is already empty.
    return false;
  }
}

process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * The registry runs under a shell so it can be watched. The test process holds the write end of the shell's
 * stdin, and the kernel closes it when the test process dies however it dies (SIGKILL included); the watchdog
 * job then kills the registry and removes its temp dir ($2, empty with keepDir). Background jobs of a
 * non-interactive shell get /dev/null as stdin, hence the copy on fd 3.
 *
 * stop() sends SIGTERM to the shell alone: the trap kills both jobs and `wait`s for them, so every process is
 * reaped by its parent. Killing the whole group instead leaves orphaned zombies that the container's PID 1
 * reaps only seconds later. The final `wait "$reg"` keeps the shell alive exactly as long as the registry, so
 * the shell's exit also reports a registry that failed to start.
 */
const WRAPPER = `
exec 3<&0
docker-registry serve "$1" </dev/null 3<&- &
reg=$!
{
  while read -r _ <&3; do :; done
  kill "$reg" 2>/dev/null
  i=0
  while kill -0 "$reg" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  kill -9 "$reg" 2>/dev/null
  [ -n "$2" ] && rm -rf "$2"
} &
watch=$!
exec 3<&-
trap 'kill "$reg" "$watch" 2>/dev/null; wait; exit 143' TERM
wait "$reg"
`;

/**
 * Whether any process of the group is still running. kill(-pgid, 0) alone is not enough: it also succeeds for
 * zombies, which are dead but not yet reaped.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** A port that was free a moment ago. Only for processes that cannot bind port 0 themselves and report it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Stops the shell (which stops and reaps its jobs), then makes sure nothing of the group is left: a registry
 * that exited on its own leaves the watchdog job behind, and a shell that does not react within 5 s is killed.
 * Resolves once no process of the group runs; every wait is bounded.
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid!;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await waitForExit(child, 5_000);
  }
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    if (!processGroupAlive(pgid)) break;
    killGroup(pgid, signal);
    for (let i = 0; i < 100 && processGroupAlive(pgid); i++) await sleep(20);
  }
  groups.delete(pgid);
  child.stdin?.destroy();
}

// ---------------------------------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------------------------------

/**
 * Combined Log Format, as gorilla/handlers writes it for every request:
 * `127.0.0.1 - - [23/Nov/2026:07:02:52 +0000] "GET /v2/ HTTP/1.1" 401 87 "" "curl/7.88.1"`.
 */
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) (?:\d+|-)/;

/**
 * Requests in a registry log. The access log is the source, not the JSON application log: 2.8.2 logs
 * `response completed` only for 2xx/3xx and `response completed with error` for handler errors, but a request
 * refused by auth (401) leaves only a `level: warning` "error authorizing context" entry with no status at all.
 * Only the access log has one line per request whatever happened.
 */
export function parseRegistryLog(text: string): RegistryRequest[] {
  const out: RegistryRequest[] = [];
  for (const line of text.split('\n')) {
    const m = ACCESS_LINE.exec(line);
    if (m) out.push({ method: m[1]!, uri: m[2]!, status: Number(m[3]) });
  }
  return out;
}

/** Reads a growing log incrementally; only whole lines are parsed, so a line being written is never torn. */
class LogReader {
  private offset = 0;
  private pending = '';
  // A chunk boundary may split a multi-byte character; the decoder carries it over.
  private readonly decoder = new StringDecoder('utf8');
  private parsed: RegistryRequest[] = [];
  private base = 0;

  constructor(private readonly file: string) {}

  private refresh(): void {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      // Removed by stop(): what was read before is all there is.
      return;
    }
    try {
      const size = fstatSync(fd).size;
      // Bounded by the file size read just now; writes after that are picked up next time.
      while (this.offset < size) {
        const buf = Buffer.alloc(Math.min(size - this.offset, 1 << 20));
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        this.pending += this.decoder.write(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    const end = this.pending.lastIndexOf('\n');
    if (end < 0) return;
    this.parsed.push(...parseRegistryLog(this.pending.slice(0, end)));
    this.pending = this.pending.slice(end + 1);
  }

  all(): RegistryRequest[] {
    this.refresh();
    return this.parsed.slice(this.base);
  }

  reset(): void {
    this.refresh();
    this.base = this.parsed.length;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------------------------

/**
 * Starts Debian's docker-registry on 127.0.0.1 and waits until GET /v2/ answers (200, or 401 with auth).
 * Port 5000 is never used: the Debian package's own service may hold it; the port comes from the kernel.
 */
export async function startRegistry(kind: RegistryKind, opts: RegistryOptions = {}): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), `registry-${kind}-`));
  if (!opts.keepDir) dirs.add(dir);
  const logFile = join(dir, 'registry.log');
  const configFile = join(dir, 'config.yml');
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  try {
    let auth: Record<string, unknown> | undefined;
    if (kind === 'htpasswd') {
      // bcrypt (-B) is the only hash distribution accepts.
      await run('htpasswd', ['-Bbc', join(dir, 'htpasswd'), USER, PASSWORD], { timeout: 10_000 });
      auth = { htpasswd: { realm: 'test-realm', path: join(dir, 'htpasswd') } };
    } else if (kind === 'token') {
      tokenServer = await startTokenServer({ dir, expiresIn: opts.tokenExpiresIn ?? 300 });
      auth = {
        token: {
          realm: tokenServer.url,
          service: TOKEN_SERVICE,
          issuer: TOKEN_ISSUER,
          rootcertbundle: tokenServer.certFile,
        },
      };
    }
    // There is a window between freePort() closing and the registry binding; a collision shows up as the
    // registry exiting with "address already in use", so it is retried with another port (bounded).
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      // YAML is a superset of JSON: JSON needs no quoting rules for temp paths.
      const config = {
        version: '0.1',
        log: { level: 'info', formatter: 'json', accesslog: { disabled: false } },
        storage: {
          filesystem: { rootdirectory: join(dir, 'storage') },
          delete: { enabled: true },
          // Nothing in a test lives for the default 168 h; keep the purge goroutine quiet.
          maintenance: { uploadpurging: { enabled: false } },
        },
        http: { addr: `127.0.0.1:${port}`, secret: 'test-only' },
        ...(opts.proxy ? { proxy: opts.proxy } : {}),
        ...(opts.redirectBlobsTo
          ? { middleware: { storage: [{ name: 'redirect', options: { baseurl: opts.redirectBlobsTo } }] } }
          : {}),
        ...(auth ? { auth } : {}),
        ...(opts.notify
          ? {
              notifications: {
                endpoints: [
                  {
                    name: 'imagestreams',
                    url: opts.notify.url,
                    headers: opts.notify.headers ?? {},
                    timeout: '2s',
                    threshold: 5,
                    backoff: '1s',
                  },
                ],
              },
            }
          : {}),
      };
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const out = openSync(logFile, 'a');
      try {
        child = spawn('sh', ['-c', WRAPPER, 'registry-wrapper', configFile, opts.keepDir ? '' : dir], {
          stdio: ['pipe', out, out],
          detached: true,
        });
      } finally {
        closeSync(out);
      }
      if (child.pid === undefined) throw new Error('could not spawn sh for docker-registry');
      groups.add(child.pid);
      // A forgotten stop() must not keep the test process alive; the exit hook and the watchdog still clean up.
      child.unref();
      (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
      child.on('error', () => {});
      child.stdin?.on('error', () => {});

      const url = `http://127.0.0.1:${port}`;
      const ready = await waitReady(url, logFile, child, opts.startTimeoutMs ?? 10_000);
      if (ready === 'ready') {
        return handle(kind, port, dir, logFile, child, tokenServer, opts.keepDir ?? false);
      }
      const log = await readFile(logFile, 'utf8').catch(() => '');
      await stopGroup(child);
      child = undefined;
      if (ready === 'exited' && /address already in use/.test(log) && attempt < 5) continue;
      throw new Error(
        `docker-registry (${kind}) on ${url} ${ready === 'exited' ? 'exited' : `did not answer GET /v2/ within ${opts.startTimeoutMs ?? 10_000} ms`}; log ${logFile}:\n${log.slice(-3000)}`,
      );
    }
  } catch (err) {
    if (child) await stopGroup(child);
    await tokenServer?.stop();
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw err;
  }
}

/**
 * Ready = this registry logged that it listens on the port AND GET /v2/ answers. The log line matters: if
 * another process took the port between freePort() and the bind, GET /v2/ would be answered by that process
 * while ours exits with "address already in use".
 */
async function waitReady(
  url: string,
  logFile: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  const listening = `"msg":"listening on ${new URL(url).host}"`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return 'exited';
    try {
      if (!(await readFile(logFile, 'utf8')).includes(listening)) throw new Error('not listening yet');
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return 'ready';
    } catch {
      // Not listening yet.
    }
    await sleep(20);
  }
  return 'timeout';
}

function handle(
  kind: RegistryKind,
  port: number,
  dir: string,
  logFile: string,
  child: ChildProcess,
  tokenServer: TokenServer | undefined,
  keepDir: boolean,
): Registry {
  const reader = new LogReader(logFile);
  // The readiness probes are not the test's requests.
  reader.reset();
  let stopped: Promise<void> | undefined;
  return {
    kind,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    ...(kind === 'anonymous' ? {} : { username: USER, password: PASSWORD }),
    ...(tokenServer ? { tokenServer } : {}),
    dir,
    pid: child.pid!,
    logFile,
    requests: () => reader.all(),
    mark: () => reader.all().length,
    since: (mark) => reader.all().slice(mark),
    resetLog: () => reader.reset(),
    log: () => readFile(logFile, 'utf8'),
    stop() {
      stopped ??= (async () => {
        await stopGroup(child);
        // Last read before the file goes: requests() keeps answering after stop().
        reader.all();
        await tokenServer?.stop();
        if (!keepDir) await rm(dir, { recursive: true, force: true });
        dirs.delete(dir);
      })();
      return stopped;
    },
  };
}
