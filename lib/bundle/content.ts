import { AppStore } from '../apps/app-store.js';
import { appBlobs, type AppTree } from '../apps/app-tree.js';
import { describePlatform, type Platform } from '../apps/platform.js';
import { BlobNotFoundError, ContentVerificationError, PlatformNotOfferedError } from '../errors.js';
import { appBlobPath, appVersionDirectory } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { mediumHasCommit } from '../rootfs/pull.js';
import type { AppUri } from '../targets/app-uri.js';
import { requiredApps } from '../targets/selection.js';
import type { BundleApp, BundleTarget, PlatformContent, TargetInstalls } from './manifest.js';
import type { OfferedTarget } from './offered-targets.js';

/** The platforms FoundriesFactory devices run, whose images a bundle may carry. */
const DEVICE_PLATFORMS: readonly Platform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

/** What a download or bundle holds for its targets, found by the device's own verified walk. */
export interface MediumContent {
  readonly targets: readonly BundleTarget[];
  /** The app version directories and blob paths the verified trees reach: what a narrowed bundle keeps of `apps/`. */
  readonly appDirectories: ReadonlySet<string>;
  readonly reachedBlobs: ReadonlySet<string>;
}

/** The blobs one app's tree reaches for one platform, by digest, with their sizes. */
type PlatformBlobs = Map<string, number>;

/**
 * Walks the hash chain of every app of the targets for every platform of DEVICE_PLATFORMS, as a device would, and
 * checks that the configs and layers the trees describe are there at their sizes. Tells, per target, which
 * platforms every one of its apps can be installed on, and whether the rootfs commit is there: what a device can
 * install from the medium. Images of a platform the download lacks are normal (the factory's CI copies one
 * platform); damage (a link of a chain that does not hold, a present manifest whose layer is missing) throws
 * ContentVerificationError (70).
 */
export async function describeContent(medium: Medium, offered: readonly OfferedTarget[]): Promise<MediumContent> {
  const store = AppStore.of(medium);
  const appDirectories = new Set<string>();
  const reachedBlobs = new Set<string>();
  const apps = new Map<string, Map<string, PlatformBlobs>>();
  const appPlatforms = async (app: AppUri): Promise<Map<string, PlatformBlobs>> => {
    let platforms = apps.get(app.uri);
    if (!platforms) {
      platforms = await shippedPlatforms(medium, store, app);
      if (platforms.size > 0) appDirectories.add(appVersionDirectory(app));
      for (const blobs of platforms.values()) for (const digest of blobs.keys()) reachedBlobs.add(appBlobPath(digest));
      apps.set(app.uri, platforms);
    }
    return platforms;
  };

  const targets: BundleTarget[] = [];
  for (const entry of offered) {
    if (!entry.target) {
      targets.push({ name: entry.name, version: null, hardwareIds: [], tags: [], apps: [], rootfs: { commit: undefined, present: false }, platforms: [], installs: 'nothing', problem: entry.problem });
      continue;
    }
    const { target } = entry;
    const carried = requiredApps(target);
    const byApp = new Map<AppUri, Map<string, PlatformBlobs>>();
    for (const app of carried) byApp.set(app, await appPlatforms(app));
    const bundleApps: BundleApp[] = carried.map((app) => ({ name: app.name, uri: app.uri, platforms: platformSizes(byApp.get(app)!) }));
    const platforms = carried.length === 0 ? [] : commonPlatforms([...byApp.values()]);
    const rootfsPresent = target.sha256 !== undefined && (await mediumHasCommit(medium, target.sha256));
    targets.push({
      name: target.name,
      version: target.version,
      hardwareIds: target.hardwareIds,
      tags: target.tags,
      apps: bundleApps.sort((a, b) => a.name.localeCompare(b.name)),
      rootfs: { commit: target.sha256, present: rootfsPresent },
      platforms,
      installs: installs(rootfsPresent, platforms.length > 0),
    });
  }
  return { targets, appDirectories, reachedBlobs };
}

/** The platforms of DEVICE_PLATFORMS the medium holds the app's images for, each with the blobs its tree reaches. */
async function shippedPlatforms(medium: Medium, store: AppStore, app: AppUri): Promise<Map<string, PlatformBlobs>> {
  const platforms = new Map<string, PlatformBlobs>();
  if (!(await store.holds(app))) return platforms;
  for (const platform of DEVICE_PLATFORMS) {
    const tree = await store.readTree(app, platform).catch((error: unknown) => {
      if (error instanceof PlatformNotOfferedError) return undefined;
      throw error;
    });
    if (!tree) continue;
    await requireImageBlobs(medium, tree);
    platforms.set(describePlatform(platform), new Map(appBlobs(tree).map(({ descriptor }) => [descriptor.digest, descriptor.size])));
  }
  return platforms;
}

/** Configs and layers are only described by the trees: here they must at least be there, at their size (their bytes are hashed when copied). */
async function requireImageBlobs(medium: Medium, tree: AppTree): Promise<void> {
  for (const image of tree.images) {
    for (const blob of [image.config, ...image.layers]) {
      const path = appBlobPath(blob.digest);
      const entry = await medium.stat(path);
      if (entry?.type !== 'file') throw new BlobNotFoundError(`${blob.what} (${path}) is missing from ${medium.description}, and its manifest is there: the download is incomplete (fetch it again with fioctl)`);
      if (entry.size !== blob.size) throw new ContentVerificationError(`${blob.what} (${path}) is ${entry.size} bytes, and its manifest says ${blob.size}`);
    }
  }
}

function platformSizes(platforms: Map<string, PlatformBlobs>): PlatformContent[] {
  return [...platforms].map(([platform, blobs]) => ({ platform, bytes: sum(blobs.values()) }));
}

/** The platforms every app has, with the bytes of all their blobs together (shared layers once). */
function commonPlatforms(apps: readonly Map<string, PlatformBlobs>[]): PlatformContent[] {
  return DEVICE_PLATFORMS.map(describePlatform).flatMap((platform) => {
    if (!apps.every((app) => app.has(platform))) return [];
    const union = new Map(apps.flatMap((app) => [...app.get(platform)!]));
    return [{ platform, bytes: sum(union.values()) }];
  });
}

function installs(rootfs: boolean, apps: boolean): TargetInstalls {
  if (rootfs) return apps ? 'rootfs and apps' : 'rootfs only';
  return apps ? 'apps only' : 'nothing';
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
