import { ExpiredMetadataError, UsageError } from '../errors.js';
import { rootFileName, TUF_FILES, tufPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { parseBundleTargets } from '../tuf/dialect.js';
import { MediumMetadataSource } from '../tuf/medium-source.js';
import type { BundleTargetsMetadata, CommonFields, SignedMetadata, TargetsMetadata } from '../tuf/model.js';
import { checkUnsignedChain, TrustedMetadataStore } from '../tuf/trusted-store.js';
import { walkRootChain } from '../tuf/verify-medium.js';
import type { SourceCheck } from './create.js';
import { SourceMedium } from './source-medium.js';

export interface HostCheckOptions {
  /** Warn when metadata expires within this many days (a whole number, 0 or more). */
  readonly minValidityDays: number;
  readonly onWarning: (message: string) => void;
  readonly now?: Date;
}

/** Far enough ahead for any real metadata, near enough for dates to stay dates. */
const MAX_MIN_VALIDITY_DAYS = 36_500;

/**
 * What `bundle-create` checks of the TUF metadata before writing anything: consistent and signed (root chain from
 * the download's oldest root, then every role under the newest root), and not about to expire. The apps are checked
 * by `createBundle` itself (content.ts), which every bundle needs.
 */
export function hostChecks(options: HostCheckOptions): SourceCheck[] {
  const days = options.minValidityDays;
  if (!Number.isInteger(days) || days < 0 || days > MAX_MIN_VALIDITY_DAYS) {
    throw new UsageError(`--min-validity must be a whole number of days from 0 to ${MAX_MIN_VALIDITY_DAYS}, not ${JSON.stringify(days)}`);
  }
  const now = options.now ?? new Date();
  return [{ name: 'check metadata', run: async (source) => void (await checkDownloadMetadata(new SourceMedium(source), now, options.onWarning, days)) }];
}

/** The metadata of a download, checked as far as the host can (`verifiedMetadata`). */
export interface CheckedMetadata {
  readonly targets: TargetsMetadata;
  readonly bundleTargets: BundleTargetsMetadata | undefined;
  /** Every file checked, the newest root first when there is one. */
  readonly all: readonly SignedMetadata<CommonFields>[];
}

/** `verifiedMetadata`, none of it expired; a warning for what expires within `minValidityDays`. */
export async function checkDownloadMetadata(medium: Medium, now: Date, onWarning: (message: string) => void, minValidityDays = 0): Promise<CheckedMetadata> {
  const checked = await verifiedMetadata(medium, now, onWarning);
  const soon = new Date(now.getTime() + minValidityDays * 86_400_000);
  for (const metadata of checked.all) {
    const { expires } = metadata.fields;
    if (expires <= now) throw new ExpiredMetadataError(`${metadata.fileName} expired at ${expires.toISOString()} (now ${now.toISOString()}): download it again with fioctl`);
    if (expires <= soon) onWarning(`${metadata.fileName} expires at ${expires.toISOString()}, within ${minValidityDays} days: devices refuse the bundle after that`);
  }
  return checked;
}

/**
 * The download's metadata, verified as far as the host can: from its oldest root on, every signature; with no
 * `<N>.root.json` at all (devices then start from the roots they ship, 1 and 2), only that the files name each
 * other's lengths, hashes and versions, which the warning says.
 */
async function verifiedMetadata(medium: Medium, now: Date, onWarning: (message: string) => void): Promise<CheckedMetadata> {
  const source = new MediumMetadataSource(medium);
  const oldest = await source.readOldestRoot();
  const bundleFile = await source.readBundleTargets();
  if (!bundleFile) onWarning(`${medium.description} has no ${tufPath(TUF_FILES.bundleTargets)}: devices will accept every target in it for their hardware id`);
  if (!oldest) {
    onWarning(
      `${medium.description} has no ${tufPath(rootFileName('<N>'))}: its signatures cannot be checked here, devices check them against the roots they ship; ` +
        'checked: the metadata files agree with each other, and their expiry',
    );
    const chain = checkUnsignedChain({ timestamp: await source.readTimestamp(), snapshot: await source.readSnapshot(), targets: await source.readTargets() });
    const bundleTargets = bundleFile ? parseBundleTargets(bundleFile.bytes, bundleFile.fileName) : undefined;
    return { targets: chain.targets, bundleTargets, all: [chain.timestamp, chain.snapshot, chain.targets, ...(bundleTargets ? [bundleTargets] : [])] };
  }
  const store = new TrustedMetadataStore([oldest], {}, now);
  await walkRootChain(store, source);
  const timestamp = store.updateTimestamp(await source.readTimestamp());
  const snapshot = store.updateSnapshot(await source.readSnapshot(store.namedLength('snapshot.json')));
  const targets = store.updateTargets(await source.readTargets(store.namedLength('targets.json')));
  const bundleTargets = bundleFile ? store.verifyBundleTargets(bundleFile) : undefined;
  return { targets, bundleTargets, all: [store.root, timestamp, snapshot, targets, ...(bundleTargets ? [bundleTargets] : [])] };
}
