import { Command, CommanderError } from 'commander';
import { registerGetCommands } from './commands/get';
import { registerImportCommands } from './commands/import-image';
import { registerKubeconfigCommand } from './commands/kubeconfig';
import { registerManageCommands } from './commands/manage';
import { registerSessionCommands } from './commands/session';
import { registerTagCommands } from './commands/tag';
import { CliError, EXIT } from './errors';
import { type Io, processIo } from './runtime';

/**
 * isctl: the `oc tag` / `oc import-image` experience against imagestreams. Commands live in cli/commands/, one
 * module per area; each registers itself on the program.
 */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('isctl')
    .description('Command line for imagestreams: OpenShift-style image streams as a service')
    .option('--server <url>', 'API server URL (overrides the config file and $ISCTL_SERVER)')
    .option('--token <token>', 'bearer token (overrides the config file and $ISCTL_TOKEN)')
    .option(
      '-n, --namespace <project>',
      'project to act in (overrides the current project and $ISCTL_PROJECT)',
    )
    .option('--config <path>', 'config file (default $ISCTL_CONFIG or ~/.config/isctl/config.json)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  registerSessionCommands(program, io);
  registerGetCommands(program, io);
  registerTagCommands(program, io);
  registerImportCommands(program, io);
  registerManageCommands(program, io);
  registerKubeconfigCommand(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs isctl with `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
        return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof CliError) {
      io.err(e.message.startsWith('Error from server') ? e.message : `error: ${e.message}`);
      return e.exitCode;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}`);
    return EXIT.failed;
  }
}
