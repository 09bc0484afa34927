import type { Medium } from '../medium/medium.js';
import type { VerifiedMedium } from '../tuf/verify-medium.js';
import { collectMediumPresence } from './medium-presence.js';
import { requiredApps, rootfsCommitToInstall, selectTargets, targetsForDevice, type Selection, type SelectionDevice, type TrustedTargets } from './selection.js';
import { catalogTargets } from './target.js';

/** The trusted targets of a verified medium, restricted to its bundle list when it has one. */
function trustedTargetsOf(verified: Pick<VerifiedMedium, 'targets' | 'bundleTargets'>): TrustedTargets {
  return {
    catalog: catalogTargets(verified.targets.fields.targets, verified.targets.fileName),
    bundleList: verified.bundleTargets?.fields.bundle.targets,
  };
}

/** Parses the trusted targets, looks up the content of those that fit the device, and selects. */
export async function evaluateMedium(medium: Medium, verified: VerifiedMedium, device: SelectionDevice, requestedName?: string): Promise<Selection> {
  const trusted = trustedTargetsOf(verified);
  const candidates = targetsForDevice(trusted, device);
  const presence = await collectMediumPresence(
    medium,
    candidates.flatMap((target) => requiredApps(target, device.composeApps)),
    candidates.flatMap((target) => rootfsCommitToInstall(target, device) ?? []),
  );
  return selectTargets(trusted, device, presence, requestedName);
}
