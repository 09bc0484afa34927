import type { AppStore } from '../apps/app-store.js';
import type { AppTree } from '../apps/app-tree.js';
import type { Platform } from '../apps/platform.js';
import { ContentVerificationError, PlatformNotOfferedError } from '../errors.js';
import { parseAppUri } from '../targets/app-uri.js';
import type { BundleTarget } from './manifest.js';

/** The platforms whose images a bundle carries: those devices of FoundriesFactory run. */
const DEVICE_PLATFORMS: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

/**
 * The verified trees of the targets' apps (each app once), built by the device's own walk for every platform of
 * DEVICE_PLATFORMS that the app ships, in order. ContentMissingError when the download lacks an app version,
 * ContentVerificationError when a link of a chain is broken or an app ships none of those platforms.
 */
export async function* shippedAppTrees(store: AppStore, targets: readonly BundleTarget[]): AsyncGenerator<AppTree> {
  const seen = new Set<string>();
  for (const target of targets) {
    for (const app of target.apps) {
      if (seen.has(app.uri)) continue;
      seen.add(app.uri);
      const uri = parseAppUri(app.uri, `target ${target.name}, app ${app.name}`);
      let shipped = 0;
      for (const platform of DEVICE_PLATFORMS) {
        const tree = await store.readTree(uri, platform).catch((error: unknown) => {
          if (error instanceof PlatformNotOfferedError) return undefined;
          throw error;
        });
        if (!tree) continue;
        shipped++;
        yield tree;
      }
      if (shipped === 0) throw new ContentVerificationError(`app ${uri.name} of target ${target.name} has images for none of ${DEVICE_PLATFORMS.map((p) => p.architecture).join(', ')}`);
    }
  }
}
