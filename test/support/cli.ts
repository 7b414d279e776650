import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * isctl as users run it: the bundle `npm ci` builds (scripts/build-cli.mjs), started as its own Node process with
 * its own config file and HOME. Each instance builds its own copy, so parallel test files never share one.
 */
export class Cli {
  readonly dir = mkdtempSync(join(tmpdir(), 'isctl-test-'));
  readonly bin = join(this.dir, 'isctl.mjs');
  readonly configPath = join(this.dir, 'config', 'isctl', 'config.json');

  constructor(private readonly baseEnv: Record<string, string> = {}) {
    execFileSync(process.execPath, ['scripts/build-cli.mjs', '--outfile', this.bin], { stdio: 'inherit' });
  }

  /** Runs `isctl <args>`; never throws on a non-zero exit (the code is part of the result). */
  run(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [this.bin, ...args],
        {
          env: {
            PATH: process.env.PATH ?? '',
            HOME: this.dir,
            XDG_CONFIG_HOME: join(this.dir, 'config'),
            NO_COLOR: '1',
            ...this.baseEnv,
            ...env,
          },
          timeout: timeoutMs,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
        },
      );
    });
  }

  /** Runs `isctl <args>` and fails the test with its output unless it exits 0; returns stdout. */
  async ok(args: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await this.run(args, env);
    if (r.code !== 0)
      throw new Error(`isctl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
