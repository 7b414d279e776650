import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './registries';

/** The service as its own process, started through the `npm start` entry point (functions/local/main.ts). */
export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

const started = new Set<ChildProcess>();

/**
 * Starts the service on a free port with `env` over the test's environment and waits (bounded) for /healthz.
 * It gets its own process group: tsx runs the service in a child process, and signals must reach that one too.
 */
export async function startServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['functions/local/main.ts'], {
    env: { ...process.env, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  child.stdout?.on('data', (b) => (output += b));
  child.stderr?.on('data', (b) => (output += b));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, child, output: () => output };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  killGroup(child);
  throw new Error(`local service did not start:\n${output}`);
}

/** SIGTERM (a clean stop, forwarded by tsx); resolves with the exit code. */
export function stopServiceProcess(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** SIGKILL to the whole process group (a crash), then wait (bounded) until no process of it is left. */
export async function killServiceProcess(child: ChildProcess): Promise<void> {
  const exited = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  killGroup(child);
  await exited;
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-child.pid!, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills every service process a test left running (call from afterAll). */
export function killAllServiceProcesses(): void {
  for (const c of started) killGroup(c);
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}
