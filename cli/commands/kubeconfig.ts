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

/**
 * The kubeconfig of a login: the server isctl talks to, on the local HTTPS listener with its CA when there is one,
 * else as it is when it is already HTTPS (AWS: a public CA); plain HTTP without a listener cannot carry a token
 * for kubectl.
 */
export function kubeconfigFor(login: {
  server: string;
  token: string;
  user: string;
  project?: string | undefined;
  tls?: LocalTls | undefined;
}): Record<string, unknown> {
  const { tls, project } = login;
  const server = new URL(login.server);
  if (tls) {
    // The host this CLI reaches the server by (covered by the certificate), on the HTTPS port.
    server.protocol = 'https:';
    server.port = String(tls.port);
  } else if (server.protocol !== 'https:') {
    throw new CliError(
      `the server at ${login.server} serves no HTTPS, and kubectl sends tokens only over HTTPS: start it with TLS_PORT set (e.g. TLS_PORT=8443 npm start)`,
    );
  }
  const cluster = clusterName(server);
  const user = `${login.user}/${cluster}`;
  const context = project ? `${project}/${cluster}/${login.user}` : `${cluster}/${login.user}`;
  return {
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
    users: [{ name: user, user: { token: login.token } }],
    contexts: [{ name: context, context: { cluster, user, ...(project ? { namespace: project } : {}) } }],
    'current-context': context,
    preferences: {},
  };
}

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
      const config = kubeconfigFor({
        server: client.server,
        token,
        user: me.metadata.name,
        project: rt.settings.project,
        tls: await localTls(client),
      });
      io.out(stringify(config).trimEnd());
    });
}
