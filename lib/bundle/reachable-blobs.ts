const DIGEST = /^sha256:([0-9a-f]{64})$/;
const BUNDLE_INDEX_ANNOTATION = 'org.foundries.app.bundle.index.digest';
/** Media types whose blobs point at further blobs (OCI and Docker manifests and indexes). */
const POINTING_MEDIA_TYPE = /^application\/vnd\.(oci\.image\.(manifest|index)\.v1|docker\.distribution\.manifest\.(v2|list\.v2))\+json$/;

export interface ReachableBlobsInput {
  /** Hex digests of the app manifests to start from. */
  readonly roots: readonly string[];
  /** Contents of OCI `index.json` files (the app store's image directories) whose descriptors are roots too. */
  readonly indexes: readonly Buffer[];
  /** A blob's bytes by hex digest (only manifests and indexes are asked for), or undefined when absent. */
  readonly read: (hex: string) => Promise<Buffer | undefined>;
}

/**
 * The hex digests of every blob an app store needs for the given apps: app manifests, their bundle, bundle
 * index and layers-meta, and, from the image directories' index.json files, image indexes, manifests,
 * configs and layers. Blobs that are absent (other platforms' manifests) are skipped, not followed.
 * This is a selection helper for `bundle create`, not a verifier: the device checks the hash chain itself.
 */
export async function reachableBlobs(input: ReachableBlobsInput): Promise<Set<string>> {
  const found = new Set<string>();
  const pending: string[] = [];
  const visit = (hex: string, follow: boolean) => {
    if (found.has(hex)) return;
    found.add(hex);
    if (follow) pending.push(hex);
  };
  const visitDescriptors = (json: unknown) => {
    for (const descriptor of descriptorsIn(json)) {
      const hex = DIGEST.exec(descriptor.digest)?.[1];
      if (hex) visit(hex, POINTING_MEDIA_TYPE.test(descriptor.mediaType));
      const bundleIndex = DIGEST.exec(descriptor.annotations?.[BUNDLE_INDEX_ANNOTATION] ?? '')?.[1];
      if (bundleIndex) visit(bundleIndex, false);
    }
  };
  for (const root of input.roots) visit(root, true);
  for (const index of input.indexes) visitDescriptors(parseJson(index));
  while (pending.length > 0) {
    const bytes = await input.read(pending.pop()!);
    if (bytes) visitDescriptors(parseJson(bytes));
  }
  return found;
}

interface LooseDescriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

function descriptorsIn(json: unknown): LooseDescriptor[] {
  if (typeof json !== 'object' || json === null) return [];
  const document = json as { config?: unknown; layers?: unknown; manifests?: unknown };
  const candidates = [document.config, ...(Array.isArray(document.layers) ? document.layers : []), ...(Array.isArray(document.manifests) ? document.manifests : [])];
  return candidates.filter((item): item is LooseDescriptor =>
    typeof item === 'object' && item !== null && typeof (item as LooseDescriptor).digest === 'string' && typeof (item as LooseDescriptor).mediaType === 'string');
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
