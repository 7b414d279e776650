import { describe, expect, it } from 'vitest';
import { kubeconfigFor } from '../../../cli/commands/kubeconfig';

describe('isctl kubeconfig', () => {
  const login = { token: 'tok-0123456789', user: 'dev', project: 'demo' };

  it('points at the local HTTPS listener, on the host isctl reaches, with its CA', () => {
    const config = kubeconfigFor({
      ...login,
      server: 'http://localhost:8080',
      tls: { port: 8443, certificateAuthorityData: 'Q0E=' },
    });
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'localhost:8443',
          cluster: { server: 'https://localhost:8443', 'certificate-authority-data': 'Q0E=' },
        },
      ],
      users: [{ name: 'dev/localhost:8443', user: { token: 'tok-0123456789' } }],
      contexts: [
        {
          name: 'demo/localhost:8443/dev',
          context: { cluster: 'localhost:8443', user: 'dev/localhost:8443', namespace: 'demo' },
        },
      ],
      'current-context': 'demo/localhost:8443/dev',
      preferences: {},
    });
  });

  it('keeps an HTTPS server as it is, without CA data (AWS: a public CA), and names the cluster as oc does', () => {
    const config = kubeconfigFor({
      ...login,
      project: undefined,
      server: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
    }) as {
      clusters: Array<{ name: string; cluster: Record<string, string> }>;
      contexts: Array<{ context: object }>;
    };
    expect(config.clusters).toEqual([
      {
        name: 'abc123-execute-api-eu-west-1-amazonaws-com:443',
        cluster: { server: 'https://abc123.execute-api.eu-west-1.amazonaws.com' },
      },
    ]);
    expect(config.contexts[0]!.context).not.toHaveProperty('namespace');
  });

  it('refuses plain HTTP without an HTTPS listener, saying how to get one', () => {
    expect(() => kubeconfigFor({ ...login, server: 'http://127.0.0.1:8080' })).toThrow(/TLS_PORT/);
  });
});
