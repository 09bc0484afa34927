import { BundleMetadataError, BundleTypeMismatchError, InvalidMetadataError, RollbackError, SecurityError } from '../errors.js';
import { TUF_FILES, tufPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { MediumMetadataSource } from './medium-source.js';
import type { BundleTargetsMetadata, RootMetadata, SnapshotMetadata, TargetsMetadata, TimestampMetadata } from './model.js';
import { TrustedMetadataStore, type MetadataFile, type PreviouslyTrusted } from './trusted-store.js';

/** What the device trusts before reading the medium (see DeviceTrustStore.load). */
export interface DeviceTrust {
  /** The device's root chain, oldest first. */
  readonly roots: readonly MetadataFile[];
  readonly previous: PreviouslyTrusted;
}

/** What the bundle checks need to know about the device. */
export interface BundleDevice {
  /** `ci` or `prod`: the `x-fio-offline-bundle.type` the device accepts; undefined (unknown type) accepts both. */
  readonly deviceType: string | undefined;
  /** `[pacman] tags`; empty when the device follows no tag. */
  readonly tags: readonly string[];
}

export interface VerifiedMedium {
  /** The final trusted root. */
  readonly root: RootMetadata;
  /** Roots read from the medium and accepted in this run, in version order. */
  readonly newRoots: readonly RootMetadata[];
  /** The medium's timestamp and snapshot; undefined when the device's stored metadata was used instead. */
  readonly timestamp: TimestampMetadata | undefined;
  readonly snapshot: SnapshotMetadata | undefined;
  /** The trusted targets: the medium's, or the device's stored ones for a stale bundle. */
  readonly targets: TargetsMetadata;
  readonly bundleTargets: BundleTargetsMetadata | undefined;
  /** True when the medium's metadata was older than the device's and the stored metadata was used. */
  readonly usedStoredMetadata: boolean;
  readonly warnings: readonly string[];
  /** The one clock reading every expiry was checked against. */
  readonly now: Date;
}

/**
 * The client workflow of docs/formats.md section 2 applied to a medium: walks the root chain, then timestamp,
 * snapshot and targets, then bundle-targets.json. Reads only; throws the typed error of the first failure.
 */
export async function verifyMedium(medium: Medium, trust: DeviceTrust, device: BundleDevice, now = new Date()): Promise<VerifiedMedium> {
  const store = new TrustedMetadataStore(trust.roots, trust.previous, now);
  const source = new MediumMetadataSource(medium);
  const warnings: string[] = [];

  const newRoots = await walkRootChain(store, source);

  // aklite-offline checks the bundle right after the root chain, before the other roles (api.cc CheckInLocal).
  const bundleFile = await source.readBundleTargets();
  let bundleTargets: BundleTargetsMetadata | undefined;
  if (bundleFile) {
    bundleTargets = verifyBundle(store, bundleFile);
    requireBundleForDevice(bundleTargets, device);
  } else {
    warnings.push(`${medium.description}: ${tufPath(TUF_FILES.bundleTargets)} not found (an older bundle): every trusted target for this device qualifies`);
  }

  let usedStoredMetadata = false;
  try {
    store.updateTimestamp(await source.readTimestamp());
    store.updateSnapshot(await source.readSnapshot(store.namedLength('snapshot.json')));
    store.updateTargets(await source.readTargets(store.namedLength('targets.json')));
  } catch (error) {
    if (!(error instanceof RollbackError)) throw error;
    if (!store.useStoredTargets()) throw error;
    usedStoredMetadata = true;
    warnings.push(
      `${error.message}. The medium's metadata is older than this device's: using the device's stored metadata, ` +
        'so only targets this device already trusts can be installed from it.',
    );
  }

  return {
    root: store.root,
    newRoots,
    timestamp: usedStoredMetadata ? undefined : store.timestamp,
    snapshot: usedStoredMetadata ? undefined : store.snapshot,
    targets: store.targets!,
    bundleTargets,
    usedStoredMetadata,
    warnings,
    now,
  };
}

/**
 * Feeds the store every root of the medium that follows its newest one (`<N+1>.root.json`, then the next...), in
 * order; the chain ends at the first version the medium lacks. Returns the roots accepted.
 */
export async function walkRootChain(store: TrustedMetadataStore, source: MediumMetadataSource): Promise<RootMetadata[]> {
  const accepted: RootMetadata[] = [];
  for (let file = await source.readRoot(store.root.fields.version + 1); file; file = await source.readRoot(store.root.fields.version + 1)) {
    accepted.push(store.updateRoot(file));
  }
  return accepted;
}

/** Any fault of bundle-targets.json but its expiry (12) is a bundle metadata error (15), as aklite-offline has it. */
function verifyBundle(store: TrustedMetadataStore, file: MetadataFile): BundleTargetsMetadata {
  try {
    return store.verifyBundleTargets(file);
  } catch (error) {
    if (error instanceof SecurityError || error instanceof InvalidMetadataError) throw new BundleMetadataError(error.message, { cause: error });
    throw error;
  }
}

function requireBundleForDevice(bundle: BundleTargetsMetadata, device: BundleDevice): void {
  const { type, tag } = bundle.fields.bundle;
  if (device.deviceType !== undefined && type !== device.deviceType) {
    throw new BundleTypeMismatchError(`${bundle.fileName}: is a '${type}' bundle, and this is a '${device.deviceType}' device`);
  }
  if (device.tags.length > 0 && (tag === undefined || !device.tags.includes(tag))) {
    throw new BundleTypeMismatchError(`${bundle.fileName}: is for ${tag === undefined ? 'no tag' : `tag '${tag}'`}, and this device follows ${device.tags.map((t) => `'${t}'`).join(', ')}`);
  }
}
