import type { Image, ImageManifest } from '../core/api-types';
import { RegistryError } from './errors';
import { isImageManifest, isManifestList } from './media-types';

export interface PlatformEntry {
  digest: string;
  mediaType: string;
  size: number;
  architecture: string;
  os: string;
  variant?: string;
}

const LAYERS_ORDER = 'image.openshift.io/dockerLayersOrder';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function descriptor(v: unknown, where: string): { digest: string; size: number; mediaType: string } {
  const d = v as { digest?: unknown; size?: unknown; mediaType?: unknown } | null;
  if (!d || typeof d.digest !== 'string' || typeof d.size !== 'number' || d.size < 0)
    throw new RegistryError('integrity', `${where}: malformed descriptor`);
  return { digest: d.digest, size: d.size, mediaType: str(d.mediaType) };
}

/** The config descriptor and layers of a single-image manifest (Docker schema2 or OCI). */
export function imageManifestParts(json: Record<string, unknown>, mediaType: string, where: string) {
  if (!isImageManifest(mediaType))
    throw new RegistryError('unsupported', `${where}: unsupported manifest type ${mediaType}`);
  const config = descriptor(json.config, `${where} config`);
  if (!Array.isArray(json.layers))
    throw new RegistryError('integrity', `${where}: manifest has no layers list`);
  const layers = json.layers.map((l, i) => descriptor(l, `${where} layer ${i}`));
  return { config, layers };
}

/** The entries of a manifest list or OCI index. */
export function listEntries(
  json: Record<string, unknown>,
  mediaType: string,
  where: string,
): PlatformEntry[] {
  if (!isManifestList(mediaType)) throw new RegistryError('unsupported', `${where}: not a manifest list`);
  if (!Array.isArray(json.manifests))
    throw new RegistryError('integrity', `${where}: manifest list has no manifests`);
  return json.manifests.map((m, i) => {
    const d = descriptor(m, `${where} manifest ${i}`);
    const p = ((m as { platform?: unknown }).platform ?? {}) as Record<string, unknown>;
    return {
      digest: d.digest,
      mediaType: d.mediaType,
      size: d.size,
      architecture: str(p.architecture),
      os: str(p.os),
      ...(str(p.variant) ? { variant: str(p.variant) } : {}),
    };
  });
}

/**
 * Legacy import of a list picks one platform (docs/semantics.md#import-by-tag-or-digest): the preferred one (the target tag's prefer-arch /
 * prefer-os annotations, else the server's own platform), then linux/amd64, then the first entry.
 */
export function choosePlatform(
  entries: PlatformEntry[],
  prefer: { os: string; architecture: string },
  where: string,
): PlatformEntry {
  if (entries.length === 0) throw new RegistryError('integrity', `${where}: no manifests in manifest list`);
  return (
    entries.find((e) => e.os === prefer.os && e.architecture === prefer.architecture) ??
    entries.find((e) => e.os === 'linux' && e.architecture === 'amd64') ??
    entries[0]!
  );
}

/**
 * OpenShift's Image for a single-platform manifest: metadata from the config blob (`dockerImageMetadata` is
 * the DockerImage 1.0 shape), layers base first, size = unique layers + config.
 */
export function imageFromManifest(args: {
  digest: string;
  mediaType: string;
  manifest: Record<string, unknown>;
  config: Buffer;
  reference: string;
  where: string;
}): Image {
  const { config: configDesc, layers } = imageManifestParts(args.manifest, args.mediaType, args.where);
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(args.config.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new RegistryError('integrity', `${args.where}: the image config is not JSON`);
  }
  const unique = new Map(layers.map((l) => [l.digest, l.size]));
  const size = [...unique.values()].reduce((a, b) => a + b, 0) + configDesc.size;
  const metadata: Record<string, unknown> = {
    kind: 'DockerImage',
    apiVersion: 'image.openshift.io/1.0',
    Id: configDesc.digest,
    Created: str(cfg.created) || undefined,
    Container: str(cfg.container) || undefined,
    ContainerConfig: cfg.container_config ?? {},
    DockerVersion: str(cfg.docker_version) || undefined,
    Author: str(cfg.author) || undefined,
    Comment: str(cfg.comment) || undefined,
    Parent: str(cfg.parent) || undefined,
    Config: cfg.config ?? undefined,
    Architecture: str(cfg.architecture) || undefined,
    Os: str(cfg.os) || undefined,
    Variant: str(cfg.variant) || undefined,
    Size: size,
  };
  return {
    kind: 'Image',
    apiVersion: 'image.openshift.io/v1',
    metadata: {
      name: args.digest,
      annotations: { [LAYERS_ORDER]: 'ascending' },
      ...(str(cfg.created) ? { creationTimestamp: str(cfg.created) } : {}),
    },
    dockerImageReference: args.reference,
    dockerImageMetadata: JSON.parse(JSON.stringify(metadata)) as Record<string, unknown>,
    dockerImageMetadataVersion: '1.0',
    dockerImageManifestMediaType: args.mediaType,
    dockerImageLayers: layers.map((l) => ({ name: l.digest, size: l.size, mediaType: l.mediaType })),
  };
}

/** The Image for a manifest list itself (PreserveOriginal): its platforms, no layers, no config. */
export function imageFromList(args: {
  digest: string;
  mediaType: string;
  entries: PlatformEntry[];
  reference: string;
  now: string;
}): Image {
  const manifests: ImageManifest[] = args.entries.map((e) => ({
    digest: e.digest,
    mediaType: e.mediaType,
    manifestSize: e.size,
    architecture: e.architecture,
    os: e.os,
    ...(e.variant ? { variant: e.variant } : {}),
  }));
  return {
    kind: 'Image',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: args.digest },
    dockerImageReference: args.reference,
    dockerImageMetadata: {
      kind: 'DockerImage',
      apiVersion: 'image.openshift.io/1.0',
      Id: args.digest,
      Created: args.now,
    },
    dockerImageMetadataVersion: '1.0',
    dockerImageManifestMediaType: args.mediaType,
    dockerImageManifests: manifests,
  };
}
