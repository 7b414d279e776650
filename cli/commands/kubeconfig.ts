import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ApiClient } from '../client';
import { CliError, ServerError } from '../errors';
import { paths } from '../paths';
import { type Io, runtimeFor } from '../runtime';

/** What the local server tells about its HTTPS listener (functions/local/http-server.ts, `GET /local/tls`). */
interface LocalTls {
  port: number;
  certificateAuthorityData: string;
}

/** The local server's HTTPS listener, or undefined where there is none to learn about (AWS, or no TLS_PORT). */
async function localTls(client: ApiClient): Promise<LocalTls | undefined> {
  try {
    const info = await client.get<Partial<LocalTls>>(paths.localTls());
    if (typeof info?.port === 'number' && typeof info.certificateAuthorityData === 'string')
      return { port: info.port, certificateAuthorityData: info.certificateAuthorityData };
    return undefined;
  } catch (e) {
    if (e instanceof ServerError && e.httpStatus === 404) return undefined;
    throw e;
  }
}

/** `127-0-0-1:8443`, as oc names clusters after their server. */
const clusterName = (server: URL) =>
  `${server.hostname.replace(/[[\]]/g, '').replace(/[.:]/g, '-')}:${server.port || '443'}`;

/** kubeconfig: a ready configuration for kubectl and oc, from the current login. */
export function registerKubeconfigCommand(program: Command, io: Io): void {
  program
    .command('kubeconfig')
    .description(
      'Print a kubeconfig for kubectl and oc: the HTTPS server, its CA (local mode), your token and current project',
    )
    .action(async (_opts, cmd: Command) => {
      const rt = runtimeFor(cmd, io);
      const client = rt.client();
      const token = rt.settings.token;
      if (!token) throw new CliError('not logged in: run isctl login --server <url> --token <token>');
      const me = await client.get<{ metadata: { name: string } }>(paths.whoami());
      const current = new URL(client.server);
      const tls = await localTls(client);
      let server: URL;
      if (tls) {
        // The host this CLI reaches the server by (covered by the certificate), on the HTTPS port.
        server = new URL(client.server);
        server.protocol = 'https:';
        server.port = String(tls.port);
      } else if (current.protocol === 'https:') {
        server = current;
      } else {
        throw new CliError(
          `the server at ${client.server} serves no HTTPS, and kubectl sends tokens only over HTTPS: start it with TLS_PORT set (e.g. TLS_PORT=8443 npm start)`,
        );
      }
      const cluster = clusterName(server);
      const user = `${me.metadata.name}/${cluster}`;
      const project = rt.settings.project;
      const context = project
        ? `${project}/${cluster}/${me.metadata.name}`
        : `${cluster}/${me.metadata.name}`;
      const config = {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: cluster,
            cluster: {
              server: server.origin,
              ...(tls ? { 'certificate-authority-data': tls.certificateAuthorityData } : {}),
            },
          },
        ],
        users: [{ name: user, user: { token } }],
        contexts: [{ name: context, context: { cluster, user, ...(project ? { namespace: project } : {}) } }],
        'current-context': context,
        preferences: {},
      };
      io.out(stringify(config).trimEnd());
    });
}
