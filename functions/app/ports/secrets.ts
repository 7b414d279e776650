import type { SealedCredential } from './credential-sealer';

/** The secret repository: registry credential secrets. functions/store/secret-store.ts implements it on DynamoDB. */
export interface SecretRepository {
  /** Creates a secret in an Active project. */
  create(s: StoredSecret): Promise<'created' | 'exists' | 'no-project'>;
  /** Replaces a secret if it is still at `expectedRv`; false otherwise. */
  replace(s: StoredSecret, expectedRv: number): Promise<boolean>;
  deleteAll(ns: string): Promise<void>;
  get(ns: string, name: string): Promise<SecretMeta | undefined>;
  list(
    ns: string,
    opts: { limit: number; after?: string | undefined },
  ): Promise<{ items: SecretMeta[]; more: boolean }>;
  delete(ns: string, name: string): Promise<SecretMeta | undefined>;
  /** The credentials imports in `ns` may use, in secret-name order. */
  credentials(ns: string): Promise<SecretCredentials[]>;
  /** Secrets still holding their config in clear, page by page. */
  unsealedRecords(pageSize?: number): AsyncGenerator<UnsealedRecord[]>;
  /** Seals one such secret if it is unchanged since it was read; false otherwise. */
  sealInPlace(r: UnsealedRecord, sealed: SealedCredential): Promise<boolean>;
}

/**
 * A registry credential secret as stored. `sealed` is the Docker config (JSON), encrypted by the application
 * (functions/app/ports/credential-sealer.ts) for this secret's namespace, name and uid: the table never holds the
 * credentials in clear. It is read only by {@link SecretStore.credentials} for imports, never returned by the API
 * nor logged.
 */
export interface StoredSecret {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  creationTimestamp: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  type: string;
  sealed: SealedCredential;
  /** Who created it (audit; not shown by the API). */
  by: string;
}

export type SecretMeta = Omit<StoredSecret, 'sealed' | 'by'>;

/**
 * The credentials of one secret, as imports read them: `sealed`, or `legacyConfig`, the Docker config JSON in
 * clear that versions before sealing wrote (still read; sealed on the secret's next write, or by
 * {@link SecretStore.unsealedRecords} and {@link SecretStore.sealInPlace}).
 */
export interface SecretCredentials {
  namespace: string;
  name: string;
  uid: string;
  sealed?: SealedCredential;
  legacyConfig?: string;
}

/** A secret still holding its config in clear, and the version it had when read. */
export interface UnsealedRecord {
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: number;
  legacyConfig: string;
}
