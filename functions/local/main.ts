import { join } from 'node:path';
import { readLocalConfig } from './local-config';
import { startLocalService } from './service';

/** `npm start`: run imagestreams locally until interrupted. */
async function main(): Promise<void> {
  const cfg = readLocalConfig();
  const service = await startLocalService(cfg);
  const tokenNote = service.adminTokenGenerated
    ? `admin token (generated, saved in ${join(cfg.dataDir, 'admin-token')}): ${service.adminToken}`
    : `admin token: from ${process.env.ADMIN_TOKEN ? '$ADMIN_TOKEN' : join(cfg.dataDir, 'admin-token')}`;
  console.log(
    `imagestreams listening on ${service.url}${service.tlsUrl ? ` and ${service.tlsUrl} (CA: ${join(cfg.dataDir, 'tls', 'ca.crt')})` : ''} (data in ${cfg.dataDir})\n${tokenNote}\ntry: curl -H "Authorization: Bearer $(cat ${join(cfg.dataDir, 'admin-token')})" ${service.url}/apis/image.openshift.io/v1/namespaces/demo/imagestreams`,
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    await service.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
