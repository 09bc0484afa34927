import { catalogTargets, type Target } from '../targets/target.js';
import type { BundleTargetsMetadata, TargetsMetadata } from '../tuf/model.js';

/** A target a download offers: parsed (docs/formats.md section 3), or set aside with the reason no device can use it. */
export type OfferedTarget =
  | { readonly name: string; readonly target: Target; readonly problem?: undefined }
  | { readonly name: string; readonly target?: undefined; readonly problem: string };

/**
 * The targets a download (or bundle) offers devices: those bundle-targets.json lists, in its order, or every target
 * of targets.json when it has none. A target that devices would set aside (invalid custom fields, listed but absent
 * from targets.json) is kept with its problem, so that what the download holds is told in full.
 */
export function offeredTargets(targets: TargetsMetadata, bundleTargets: BundleTargetsMetadata | undefined): OfferedTarget[] {
  const catalog = catalogTargets(targets.fields.targets, targets.fileName);
  const names = bundleTargets?.fields.bundle.targets ?? [...targets.fields.targets.keys()];
  return names.map((name): OfferedTarget => {
    const target = catalog.valid.get(name);
    if (target) return { name, target };
    return { name, problem: catalog.invalid.get(name)?.problem ?? `listed in ${bundleTargets!.fileName}, but not in ${targets.fileName}` };
  });
}
