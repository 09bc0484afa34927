import { ContentMissingError, NoMatchingTargetError } from '../errors.js';
import type { Selection, TargetRow } from './selection.js';
import type { Target } from './target.js';

/**
 * The verdict of `check` on a selection: 'up-to-date' (0) when nothing newer is available, 'update-available'
 * (16) when the selected target is newer and complete on the medium. Throws NoMatchingTargetError (6) when no
 * target fits the device and ContentMissingError (8) when the medium lacks the selected target's content.
 */
export function checkVerdict(selection: Selection): 'up-to-date' | 'update-available' {
  const { row: selected } = requireTargetForDevice(selection);
  if (selected.relation === 'same' || selected.relation === 'older') return 'up-to-date';
  if (!selected.contentPresent) throw new ContentMissingError(describeMissingContent(selected));
  return 'update-available';
}

/** The selected target, when it is for this device; NoMatchingTargetError (6) saying why not otherwise. */
export function requireTargetForDevice(selection: Selection): { row: TargetRow; target: Target } {
  const { selected, selectedTarget } = selection;
  if (!selected?.forDevice || !selectedTarget) {
    const detail = selected ? `target '${selected.name}': ${selected.reasons.join(', ')}` : describeRows(selection.rows);
    throw new NoMatchingTargetError(`no target on the medium is for this device (${detail})`);
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
