import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { Identity } from '../app/shared/context';

const tokenFile = z.record(
  z.string().min(1),
  z.object({ user: z.string().min(1), groups: z.array(z.string()).default([]) }),
);

/** The bootstrap administrator: member of the cluster-admin group the access-control issue configures. */
export const ADMIN_IDENTITY: Identity = {
  user: 'admin',
  groups: ['system:cluster-admins', 'system:authenticated'],
};

/**
 * Local-mode bearer tokens (README, "Configuration"): the admin token ($ADMIN_TOKEN, else the one kept in
 * $DATA_DIR/admin-token, else a new one written there), plus $DATA_DIR/tokens.json and $LOCAL_TOKENS.
 */
export function loadTokens(opts: { dataDir: string; adminToken?: string; localTokens?: string }): {
  adminToken: string;
  generated: boolean;
  lookup: (token: string) => Identity | undefined;
} {
  mkdirSync(opts.dataDir, { recursive: true });
  const adminFile = join(opts.dataDir, 'admin-token');
  let adminToken = opts.adminToken;
  let generated = false;
  if (!adminToken && existsSync(adminFile)) adminToken = readFileSync(adminFile, 'utf8').trim();
  if (!adminToken) {
    adminToken = randomBytes(24).toString('base64url');
    generated = true;
  }
  writeFileSync(adminFile, `${adminToken}\n`, { mode: 0o600 });

  const table = new Map<string, Identity>();
  const sources: Array<[string, string | undefined]> = [
    [
      join(opts.dataDir, 'tokens.json'),
      existsSync(join(opts.dataDir, 'tokens.json'))
        ? readFileSync(join(opts.dataDir, 'tokens.json'), 'utf8')
        : undefined,
    ],
    ['$LOCAL_TOKENS', opts.localTokens],
  ];
  for (const [where, text] of sources) {
    if (!text?.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${where} is not valid JSON: ${(e as Error).message}`);
    }
    const parsed = tokenFile.safeParse(json);
    if (!parsed.success)
      throw new Error(
        `${where} must map tokens to {"user": "...", "groups": [...]}: ${parsed.error.issues[0]?.message}`,
      );
    for (const [token, id] of Object.entries(parsed.data))
      table.set(token, { user: id.user, groups: [...id.groups, 'system:authenticated'] });
  }
  const admin = Buffer.from(adminToken);
  return {
    adminToken,
    generated,
    lookup(token) {
      const given = Buffer.from(token);
      if (given.length === admin.length && timingSafeEqual(given, admin)) return ADMIN_IDENTITY;
      return table.get(token);
    },
  };
}
