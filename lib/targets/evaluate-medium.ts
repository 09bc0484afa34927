import type { VerifiedMedium } from '../tuf/verify-medium.js';
import type { AppUri } from './app-uri.js';
import { requiredApps, rootfsCommitToInstall, targetsForDevice, type SelectionDevice, type TrustedTargets } from './selection.js';
import { catalogTargets } from './target.js';

/** The trusted targets of a verified medium, restricted to its bundle list when it has one. */
export function trustedTargetsOf(verified: Pick<VerifiedMedium, 'targets' | 'bundleTargets'>): TrustedTargets {
  return {
    catalog: catalogTargets(verified.targets.fields.targets, verified.targets.fileName),
    bundleList: verified.bundleTargets?.fields.bundle.targets,
  };
}

/** What selection needs looked up on the medium: the apps and rootfs commits of the targets that fit the device. */
export function contentToLookUp(trusted: TrustedTargets, device: SelectionDevice): { apps: AppUri[]; commits: string[] } {
  const candidates = targetsForDevice(trusted, device);
  return {
    apps: candidates.flatMap((target) => requiredApps(target, device.composeApps)),
    commits: candidates.flatMap((target) => rootfsCommitToInstall(target, device) ?? []),
  };
}
