import type { Command } from 'commander';
import { ApiClient } from '../client';
import { type GlobalFlags, resolveSettings } from '../config';
import { UsageError } from '../errors';
import { ago, parseOutput, serialize, table } from '../output';
import { paths } from '../paths';
import { type Io, runtimeFor } from '../runtime';

interface User {
  metadata: { name: string };
  groups?: string[];
}

/** login, logout, whoami, new-project, project, projects: who you are and where you work. */
export function registerSessionCommands(program: Command, io: Io): void {
  program
    .command('login')
    .description('Log in to a server with a bearer token and remember both in the config file')
    .option('--server <url>', 'API server URL, e.g. http://127.0.0.1:8080')
    .option('--token <token>', 'bearer token (local mode: .data/admin-token or one of tokens.json)')
    .action(async (opts: { server?: string; token?: string }, cmd: Command) => {
      const flags = { ...(cmd.optsWithGlobals() as GlobalFlags), ...opts };
      const settings = resolveSettings(flags, io.env);
      if (!settings.server) throw new UsageError('login needs --server <url> (or $ISCTL_SERVER)');
      if (!settings.token) throw new UsageError('login needs --token <token> (or $ISCTL_TOKEN)');
      const client = new ApiClient(settings.server, settings.token);
      const me = await client.get<User>(paths.whoami());
      const rt = runtimeFor(cmd, io);
      rt.saveConfig({ server: settings.server, token: settings.token });
      io.out(`Logged into "${settings.server}" as "${me.metadata.name}" using the token provided.`);
      const projects = await client.get<{ items: ProjectItem[] }>(paths.projects());
      const names = projects.items.map((p) => p.metadata.name);
      const current = rt.settings.project;
      if (names.length === 0) {
        io.out(
          "\nYou don't have any projects. You can try to create a new project, by running\n\n    isctl new-project <projectname>",
        );
      } else if (current && names.includes(current)) {
        io.out(`\nUsing project "${current}".`);
      } else {
        rt.saveConfig({ project: names[0] });
        io.out(
          names.length === 1
            ? `\nYou have one project on this server: "${names[0]}"\n\nUsing project "${names[0]}".`
            : `\nYou have access to ${names.length} projects, the list has been suppressed. You can list all projects with 'isctl projects'\n\nUsing project "${names[0]}".`,
        );
      }
    });

  program
    .command('logout')
    .description('Forget the token in the config file')
    .action((_opts, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      rt.saveConfig({ token: undefined });
      io.out(`Logged out of "${rt.settings.server ?? ''}"`);
    });

  program
    .command('whoami')
    .description('Show the user the token authenticates (--groups: and their groups)')
    .option('--groups', 'print the groups too')
    .action(async (opts: { groups?: boolean }, cmd: Command) => {
      const me = await runtimeFor(cmd, io).client().get<User>(paths.whoami());
      io.out(me.metadata.name);
      if (opts.groups) for (const g of me.groups ?? []) io.out(g);
    });

  program
    .command('new-project')
    .description('Create a project; you become its admin and it becomes your current project')
    .argument('<name>', 'project name (a DNS-1123 label)')
    .option('--display-name <text>', 'display name')
    .option('--description <text>', 'description')
    .option('--skip-config-write', 'do not switch to the new project')
    .action(
      async (
        name: string,
        opts: { displayName?: string; description?: string; skipConfigWrite?: boolean },
        cmd: Command,
      ) => {
        const rt = runtimeFor(cmd, io);
        await rt.client().post(paths.projectrequests(), {
          kind: 'ProjectRequest',
          apiVersion: 'project.openshift.io/v1',
          metadata: { name },
          ...(opts.displayName ? { displayName: opts.displayName } : {}),
          ...(opts.description ? { description: opts.description } : {}),
        });
        if (!opts.skipConfigWrite) rt.saveConfig({ project: name });
        io.out(`Now using project "${name}" on server "${rt.settings.server}".`);
      },
    );

  program
    .command('project')
    .description('Show the current project, or switch to another one')
    .argument('[name]', 'project to switch to')
    .option('-q, --short', 'print only the project name')
    .action(async (name: string | undefined, opts: { short?: boolean }, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      const client = rt.client();
      if (!name) {
        const current = rt.project();
        await client.get(paths.projects(current));
        io.out(opts.short ? current : `Using project "${current}" on server "${rt.settings.server}".`);
        return;
      }
      await client.get(paths.projects(name));
      rt.saveConfig({ project: name });
      io.out(opts.short ? name : `Now using project "${name}" on server "${rt.settings.server}".`);
    });

  program
    .command('projects')
    .description('List the projects you can see (* marks the current one)')
    .option('-o, --output <format>', 'json|yaml|name|wide')
    .action(async (opts: { output?: string }, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      const format = parseOutput(opts.output);
      const list = await rt.client().get<{ items: ProjectItem[] }>(paths.projects());
      if (format === 'json' || format === 'yaml') return io.out(serialize(list, format));
      if (format === 'name')
        return io.out(list.items.map((p) => `project.project.openshift.io/${p.metadata.name}`).join('\n'));
      if (list.items.length === 0) {
        io.out(
          "You don't have any projects. You can try to create a new project, by running\n\n    isctl new-project <projectname>",
        );
        return;
      }
      const current = rt.settings.project;
      io.out(
        table(
          ['', 'NAME', 'DISPLAY NAME', 'STATUS', 'CREATED'],
          list.items.map((p) => [
            p.metadata.name === current ? '*' : '',
            p.metadata.name,
            p.metadata.annotations?.['openshift.io/display-name'] ?? '',
            p.status?.phase ?? '',
            ago(p.metadata.creationTimestamp),
          ]),
        ),
      );
    });
}

interface ProjectItem {
  metadata: { name: string; creationTimestamp?: string; annotations?: Record<string, string> };
  status?: { phase?: string };
}
