import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError, UsageError } from './errors';

/** What `isctl login` and `isctl project` remember between runs. */
export interface StoredConfig {
  server?: string;
  token?: string;
  project?: string;
}

/** The settings a command runs with: flags over environment over the config file. */
export interface Settings {
  server?: string;
  token?: string;
  project?: string;
  configPath: string;
}

export interface GlobalFlags {
  server?: string;
  token?: string;
  namespace?: string;
  config?: string;
}

/**
 * The config file: `--config`, else `$ISCTL_CONFIG`, else `$XDG_CONFIG_HOME/isctl/config.json`, else
 * `~/.config/isctl/config.json`. It holds a bearer token, so it is written with mode 0600.
 */
export function configPath(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.config) return flags.config;
  if (env.ISCTL_CONFIG) return env.ISCTL_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'isctl', 'config.json');
}

export function readConfig(path: string): StoredConfig {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(
      `the config file ${path} is not valid JSON (${(e as Error).message}); fix or remove it`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new CliError(`the config file ${path} must hold a JSON object`);
  const c = parsed as Record<string, unknown>;
  const str = (k: string) => (typeof c[k] === 'string' && c[k] ? (c[k] as string) : undefined);
  return {
    ...(str('server') ? { server: str('server') } : {}),
    ...(str('token') ? { token: str('token') } : {}),
    ...(str('project') ? { project: str('project') } : {}),
  };
}

/** Writes the config atomically, readable by the user only. */
export function writeConfig(path: string, config: StoredConfig): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * The server URL without trailing slashes. One without a scheme (`127.0.0.1:8080`) would otherwise fail later
 * with an obscure fetch error, so it is refused here, saying what to write instead.
 */
export function serverUrl(raw: string): string {
  const url = raw.trim().replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(url))
    throw new UsageError(
      `the server URL "${raw}" has no scheme: write http://${url.replace(/^[a-z]+:\/\//i, '')} (or https://…, for a server with TLS)`,
    );
  return url;
}

export function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings {
  const path = configPath(flags, env);
  const file = readConfig(path);
  const pick = (...xs: Array<string | undefined>) => xs.find((x) => x !== undefined && x !== '');
  const server = pick(flags.server, env.ISCTL_SERVER, file.server);
  const token = pick(flags.token, env.ISCTL_TOKEN, file.token);
  const project = pick(flags.namespace, env.ISCTL_PROJECT, file.project);
  return {
    configPath: path,
    ...(server ? { server: serverUrl(server) } : {}),
    ...(token ? { token } : {}),
    ...(project ? { project } : {}),
  };
}
