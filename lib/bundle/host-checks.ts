import { AppStore } from '../apps/app-store.js';
import { ContentMissingError, ContentVerificationError, ExpiredMetadataError, MetadataNotFoundError } from '../errors.js';
import { appBlobPath, rootFileName, TUF_FILES, tufPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import type { CommonFields, SignedMetadata } from '../tuf/model.js';
import { MediumMetadataSource } from '../tuf/medium-source.js';
import { TrustedMetadataStore } from '../tuf/trusted-store.js';
import { walkRootChain } from '../tuf/verify-medium.js';
import { shippedAppTrees } from './app-trees.js';
import type { SourceCheck } from './create.js';
import { SourceMedium } from './source-medium.js';
import type { BundleSource } from './source.js';

export interface HostCheckOptions {
  /** Warn when metadata expires within this many days. */
  readonly minValidityDays: number;
  readonly onWarning: (message: string) => void;
  readonly now?: Date;
}

/**
 * What `bundle-create` checks before writing anything: the TUF metadata of the download is consistent and signed
 * (root chain from its oldest root, then every role under the newest root) and not about to expire; every target
 * of the bundle has its apps, each app's hash chain holds for every platform it ships, and every blob has the size
 * the chain gives it. Blob contents are hashed while they are copied (the writer compares them with their names).
 */
export function hostChecks(options: HostCheckOptions): SourceCheck[] {
  const now = options.now ?? new Date();
  return [
    { name: 'check metadata', run: (source) => checkMetadata(new SourceMedium(source), now, options) },
    { name: 'check apps', run: (source) => checkApps(new SourceMedium(source), source) },
  ];
}

async function checkMetadata(medium: Medium, now: Date, options: HostCheckOptions): Promise<void> {
  const source = new MediumMetadataSource(medium);
  const oldest = await source.readOldestRoot();
  if (!oldest) throw new MetadataNotFoundError(`${medium.description}: no ${tufPath(rootFileName('<N>'))}`);
  const store = new TrustedMetadataStore([oldest], {}, now);
  await walkRootChain(store, source);
  const timestamp = store.updateTimestamp(await source.readTimestamp());
  const snapshot = store.updateSnapshot(await source.readSnapshot());
  const targets = store.updateTargets(await source.readTargets());
  const bundleFile = await source.readBundleTargets();
  const bundle = bundleFile ? store.verifyBundleTargets(bundleFile) : undefined;
  if (!bundle) options.onWarning(`the download has no ${tufPath(TUF_FILES.bundleTargets)}: devices will accept every target in it for their hardware id`);

  const soon = new Date(now.getTime() + options.minValidityDays * 86_400_000);
  const all: SignedMetadata<CommonFields>[] = [store.root, timestamp, snapshot, targets, ...(bundle ? [bundle] : [])];
  for (const metadata of all) {
    const { expires } = metadata.fields;
    if (expires <= now) throw new ExpiredMetadataError(`${metadata.fileName} expired at ${expires.toISOString()} (now ${now.toISOString()}): download it again with fioctl`);
    if (expires <= soon) options.onWarning(`${metadata.fileName} expires at ${expires.toISOString()}, within ${options.minValidityDays} days: devices refuse the bundle after that`);
  }
}

/** Configs and layers are only described by the trees: here they must at least be there, at their size. */
async function checkApps(medium: Medium, source: BundleSource): Promise<void> {
  for await (const tree of shippedAppTrees(new AppStore(medium), source.targets)) {
    for (const image of tree.images) {
      for (const blob of [image.config, ...image.layers]) {
        const path = appBlobPath(blob.digest);
        const entry = await medium.stat(path);
        if (!entry) throw new ContentMissingError(`${blob.what} (${path}) is missing from ${medium.description}`);
        if (entry.size !== blob.size) throw new ContentVerificationError(`${blob.what} (${path}) is ${entry.size} bytes, and its manifest says ${blob.size}`);
      }
    }
  }
}
