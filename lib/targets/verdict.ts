import { ContentMissingError, NoMatchingTargetError, TargetNotFoundError } from '../errors.js';
import type { Selection, TargetRow } from './selection.js';
import type { Target } from './target.js';

/**
 * The target to install, found as aklite-offline finds it (api.cc CheckInLocal, then the target choice): no target for
 * this device's hardware id, tags and bundle list is NoMatchingTargetError (6); none of those whose content is all
 * on the medium is ContentMissingError (8); a `--target` must then name one of the complete targets for the device,
 * else TargetNotFoundError (20). Without `--target`, the newest complete target for the device.
 */
export function requireInstallableTarget(selection: Selection): { row: TargetRow; target: Target } {
  const { rows, requested, selected, selectedTarget } = selection;
  const forDevice = rows.filter((row) => row.forDevice);
  if (forDevice.length === 0) {
    throw new NoMatchingTargetError(`no target on the medium is for this device (${describeRows(rows)})`);
  }
  if (!forDevice.some((row) => row.contentPresent)) {
    throw new ContentMissingError(describeMissingContent(selected?.forDevice ? selected : forDevice[0]!));
  }
  if (!selected || !selectedTarget) {
    const offered = forDevice.map((row) => `${row.name} (version ${row.version})`).join(', ');
    throw new TargetNotFoundError(`target '${requested}' is not in the trusted targets metadata; the targets for this device are ${offered}`);
  }
  if (!selected.forDevice || !selected.contentPresent) {
    const why = selected.forDevice ? describeMissingContent(selected) : `target '${selected.name}': ${selected.reasons.join(', ')}`;
    throw new TargetNotFoundError(`target '${selected.name}' cannot be installed from this medium (${why})`);
  }
  return { row: selected, target: selectedTarget };
}

export function describeMissingContent(row: TargetRow): string {
  const missing = [
    ...(row.missingApps.length > 0 ? [`apps ${row.missingApps.join(', ')}`] : []),
    ...(row.platformMissing ? [`${row.platformMissing.platform} images of apps ${row.platformMissing.apps.join(', ')}`] : []),
    ...(row.reasons.includes('rootfs-missing') ? [`rootfs commit ${row.rootfsCommit}`] : []),
  ];
  return `target '${row.name}' needs ${missing.join(' and ')}, which the medium does not hold`;
}

function describeRows(rows: readonly TargetRow[]): string {
  if (rows.length === 0) return 'no target lists its hardware id';
  return rows.map((row) => `${row.name}: ${row.reasons.join(', ')}`).join('; ');
}
