import { AppStore } from '../apps/app-store.js';
import { describePlatform, type Platform } from '../apps/platform.js';
import type { DeviceConfig } from '../config/device-config.js';
import type { TargetRecord } from '../device/state.js';
import type { Medium } from '../medium/medium.js';
import { mediumHasCommit } from '../rootfs/pull.js';
import type { AppUri } from '../targets/app-uri.js';
import { contentToLookUp, trustedTargetsOf } from '../targets/evaluate-medium.js';
import { appPresenceKey, type MediumPresence } from '../targets/medium-presence.js';
import { selectTargets, type Selection, type SelectionDevice } from '../targets/selection.js';
import type { TrustStore } from '../tuf/device-trust.js';
import { verifyMedium, type VerifiedMedium } from '../tuf/verify-medium.js';

export interface MediumInspection {
  readonly device: SelectionDevice;
  readonly verified: VerifiedMedium;
  readonly selection: Selection;
  readonly trustStore: TrustStore;
}

export interface InspectOptions {
  readonly current: TargetRecord | undefined;
  /** The booted OSTree commit on OSTree devices; undefined elsewhere. */
  readonly bootedCommit: string | undefined;
  readonly requestedTarget?: string;
  /** The one clock reading of this run. */
  readonly now: Date;
  /** The device's platform: an app is only there with images for it. */
  readonly platform: Platform;
  /** A row for every target of the trusted metadata, for other hardware ids too. */
  readonly everyTarget?: boolean;
  /** What the device trusts (DeviceEnvironment.trustStore). */
  readonly trustStore: TrustStore;
}

/** The part `check` and `install` share: verify the medium's metadata against the device trust, then select. Reads only. */
export async function inspectMedium(config: DeviceConfig, medium: Medium, options: InspectOptions): Promise<MediumInspection> {
  const device: SelectionDevice = {
    hardwareId: config.hardwareId,
    tags: config.tags,
    // `[pacman] type = "ostree"`: apps are not the device's business, none has to be on the medium.
    composeApps: config.packageManager === 'ostree' ? { kind: 'none' } : config.enabledApps,
    ...(options.current ? { currentTarget: { name: options.current.name, version: options.current.version } } : {}),
    ...(options.bootedCommit ? { ostree: { bootedCommit: options.bootedCommit } } : {}),
  };
  const trustStore = options.trustStore;
  const verified = await verifyMedium(medium, await trustStore.load(), { deviceType: config.deviceType, tags: config.tags }, options.now);
  const selection = await evaluateMedium(medium, verified, device, options.requestedTarget, options.platform, options.everyTarget);
  return { device, verified, selection, trustStore };
}

/** Parses the trusted targets, looks up the content of those that fit the device, and selects. */
export async function evaluateMedium(
  medium: Medium, verified: VerifiedMedium, device: SelectionDevice, requestedName?: string, platform?: Platform, everyTarget = false,
): Promise<Selection> {
  const trusted = trustedTargetsOf(verified);
  const wanted = contentToLookUp(trusted, device);
  return selectTargets(trusted, device, await collectMediumPresence(medium, wanted.apps, wanted.commits, platform), requestedName, { everyTarget });
}

/**
 * Looks up the given apps in the medium's app store (with images for `platform`, when given) and OSTree commits in
 * its OSTree repo, each once. Only names validated by lib/targets reach the medium: app names are safe path
 * components and digests are hex.
 */
export async function collectMediumPresence(medium: Medium, apps: Iterable<AppUri>, commits: Iterable<string>, platform?: Platform): Promise<MediumPresence> {
  const store = AppStore.of(medium);
  const presentApps = new Set<string>();
  const withoutPlatform = new Set<string>();
  const byKey = new Map([...apps].map((app) => [appPresenceKey(app), app]));
  // The apps' trees are read side by side: each is many small reads, and the install uses the trees read here.
  await Promise.all([...byKey].map(async ([key, app]) => {
    if (!(await store.holds(app))) return;
    presentApps.add(key);
    if (platform && !(await store.offersPlatform(app, platform))) withoutPlatform.add(key);
  }));
  const presentCommits = new Set<string>();
  for (const commit of commits) {
    if (!presentCommits.has(commit) && (await mediumHasCommit(medium, commit))) presentCommits.add(commit);
  }
  return {
    apps: presentApps,
    commits: presentCommits,
    ...(platform ? { withoutPlatform: { platform: describePlatform(platform), apps: withoutPlatform } } : {}),
  };
}
