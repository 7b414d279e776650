import type { Command } from 'commander';
import { ApiClient } from './client';
import {
  type GlobalFlags,
  readConfig,
  resolveSettings,
  type Settings,
  type StoredConfig,
  writeConfig,
} from './config';
import { CliError } from './errors';

/** What every command gets: settings from flags, environment and config file, an API client, output. */
export interface Runtime {
  settings: Settings;
  /** An API client for the configured server; fails with what to do when there is none. */
  client(): ApiClient;
  /** The project to act in (`-n`, `$ISCTL_PROJECT`, or the current one); fails with what to do when there is none. */
  project(): string;
  /** Updates the config file (login, project). */
  saveConfig(change: Partial<StoredConfig>): void;
  out(text: string): void;
  err(text: string): void;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: Io = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  env: process.env,
};

/** The runtime for one command invocation (global flags are read from the command and its parents). */
export function runtimeFor(cmd: Command, io: Io): Runtime {
  const flags = cmd.optsWithGlobals() as GlobalFlags;
  const settings = resolveSettings(flags, io.env);
  return {
    settings,
    client() {
      if (!settings.server)
        throw new CliError('no server configured: run isctl login --server <url> --token <token>');
      return new ApiClient(settings.server, settings.token);
    },
    project() {
      if (!settings.project)
        throw new CliError(
          'no project selected: pass -n <project>, or choose one with isctl project <name> (isctl new-project <name> creates one)',
        );
      return settings.project;
    },
    saveConfig(change) {
      const current = readConfig(settings.configPath);
      writeConfig(settings.configPath, { ...current, ...change });
    },
    out: io.out,
    err: io.err,
  };
}
