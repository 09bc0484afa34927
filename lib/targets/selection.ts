import type { AppFilter, EnabledApps } from '../config/device-config.js';
import type { AppUri } from './app-uri.js';
import { appPresenceKey, type MediumPresence } from './medium-presence.js';
import type { Target, TargetCatalog } from './target.js';

export interface SelectionDevice {
  readonly hardwareId: string;
  /** `[pacman] tags`; empty when the device follows no tag. */
  readonly tags: readonly string[];
  readonly currentTarget?: { readonly name: string; readonly version: number };
  readonly composeApps?: EnabledApps;
  /** Set on OSTree-booted devices only: then a target's sha256 is a rootfs commit to install. */
  readonly ostree?: { readonly bootedCommit: string };
}

/** The trusted targets and, when the medium has bundle-targets.json, the names it allows. */
export interface TrustedTargets {
  readonly catalog: TargetCatalog;
  readonly bundleList: readonly string[] | undefined;
}

export type RowReason =
  | 'invalid-target'
  | 'not-in-trusted-targets'
  | 'wrong-hardware-id'
  | 'wrong-tag'
  | 'not-in-bundle'
  | 'apps-missing'
  | 'platform-missing'
  | 'rootfs-missing'
  | 'older-than-current'
  | 'same-as-current';

export type VersionRelation = 'newer' | 'same' | 'older' | 'no-current';

export interface TargetRow {
  readonly name: string;
  readonly version: number | undefined;
  readonly apps: readonly string[];
  /** Apps this device needs from the medium for the target. */
  readonly requiredApps: readonly string[];
  readonly missingApps: readonly string[];
  /** Required apps the medium holds without images for this device's platform, and that platform. */
  readonly platformMissing: { readonly platform: string; readonly apps: readonly string[] } | undefined;
  /** The rootfs commit to install, when the device boots OSTree and runs another commit. */
  readonly rootfsCommit: string | undefined;
  /** Hardware id, tag, bundle list and metadata all fit this device. */
  readonly forDevice: boolean;
  /** Whether the medium holds what the target needs; undefined when the target is not for this device. */
  readonly contentPresent: boolean | undefined;
  readonly relation: VersionRelation;
  /** For this device, complete on the medium, and newer than the current target. */
  readonly installable: boolean;
  readonly reasons: readonly RowReason[];
  /** Why the target is invalid, for `invalid-target`. */
  readonly problem?: string;
}

export interface Selection {
  /** Targets for this device's hardware id, then bundle-listed targets that are not, newest first. */
  readonly rows: readonly TargetRow[];
  /** The name given with `--target`, if any. */
  readonly requested: string | undefined;
  /** The requested target (undefined when the trusted metadata has none of that name), or the newest one for this device. */
  readonly selected: TargetRow | undefined;
  readonly selectedTarget: Target | undefined;
}

/** The targets whose content must be looked up on the medium: those that fit the device. */
export function targetsForDevice(trusted: TrustedTargets, device: SelectionDevice): Target[] {
  return [...trusted.catalog.valid.values()].filter((target) => deviceReasons(target, device, trusted.bundleList).length === 0);
}

/**
 * The apps of `target` this device needs and runs (docs/formats.md section 11): those the factory fetched for it
 * (`fetched-apps`) that `[pacman] compose_apps` enables.
 */
export function requiredApps(target: Target, composeApps: EnabledApps = { kind: 'all' }): AppUri[] {
  return target.apps.filter((app) => admits(target.fetchedApps, app.name) && admits(composeApps, app.name));
}

function admits(filter: AppFilter, name: string): boolean {
  return filter.kind === 'all' || (filter.kind === 'listed' && filter.names.includes(name));
}

/** The rootfs commit the device would have to install for `target`, if any. */
export function rootfsCommitToInstall(target: Target, device: SelectionDevice): string | undefined {
  if (!device.ostree || !target.sha256 || target.sha256 === device.ostree.bootedCommit.toLowerCase()) return undefined;
  return target.sha256;
}

/**
 * One row per target for this device's hardware id (and per bundle-listed target that is not; with `everyTarget`,
 * per target of the trusted metadata), and the
 * selected target: the requested one, else the newest for the device. Whether it can be installed is the
 * verdict's to say (verdict.ts).
 */
export function selectTargets(trusted: TrustedTargets, device: SelectionDevice, presence: MediumPresence, requestedName?: string, options: { everyTarget?: boolean } = {}): Selection {
  const { valid, invalid } = trusted.catalog;
  const bundleNames = new Set(trusted.bundleList ?? []);
  const listed = (name: string) => options.everyTarget === true || bundleNames.has(name) || name === requestedName;
  const rows: TargetRow[] = [];
  for (const target of valid.values()) {
    if (target.hardwareIds.includes(device.hardwareId) || listed(target.name)) rows.push(targetRow(target, device, trusted.bundleList, presence));
  }
  for (const { name, problem } of invalid.values()) {
    if (listed(name)) rows.push(unusableRow(name, ['invalid-target'], problem));
  }
  for (const name of bundleNames) {
    if (!valid.has(name) && !invalid.has(name)) rows.push(unusableRow(name, ['not-in-trusted-targets']));
  }
  rows.sort((a, b) => (b.version ?? -1) - (a.version ?? -1) || a.name.localeCompare(b.name));

  // Without a requested name: the newest target for the device that the medium holds completely, else the
  // newest one for the device (so that the verdict can say what is missing).
  const selected = requestedName !== undefined
    ? rows.find((row) => row.name === requestedName)
    : rows.find((row) => row.forDevice && row.contentPresent) ?? rows.find((row) => row.forDevice);
  return { rows, requested: requestedName, selected, selectedTarget: selected ? valid.get(selected.name) : undefined };
}

function deviceReasons(target: Target, device: SelectionDevice, bundleList: readonly string[] | undefined): RowReason[] {
  const reasons: RowReason[] = [];
  if (!target.hardwareIds.includes(device.hardwareId)) reasons.push('wrong-hardware-id');
  if (device.tags.length > 0 && !target.tags.some((tag) => device.tags.includes(tag))) reasons.push('wrong-tag');
  if (bundleList && !bundleList.includes(target.name)) reasons.push('not-in-bundle');
  return reasons;
}

function targetRow(target: Target, device: SelectionDevice, bundleList: readonly string[] | undefined, presence: MediumPresence): TargetRow {
  const reasons = deviceReasons(target, device, bundleList);
  const forDevice = reasons.length === 0;
  const required = requiredApps(target, device.composeApps);
  const missingApps = forDevice ? required.filter((app) => !presence.apps.has(appPresenceKey(app))).map((app) => app.name) : [];
  const withoutPlatform = forDevice ? required.filter((app) => presence.withoutPlatform?.apps.has(appPresenceKey(app))).map((app) => app.name) : [];
  const platformMissing = withoutPlatform.length > 0 ? { platform: presence.withoutPlatform!.platform, apps: withoutPlatform } : undefined;
  const rootfsCommit = rootfsCommitToInstall(target, device);
  const rootfsMissing = forDevice && rootfsCommit !== undefined && !presence.commits.has(rootfsCommit);
  if (missingApps.length > 0) reasons.push('apps-missing');
  if (platformMissing) reasons.push('platform-missing');
  if (rootfsMissing) reasons.push('rootfs-missing');
  const relation = versionRelation(target, device);
  if (relation === 'older') reasons.push('older-than-current');
  if (relation === 'same') reasons.push('same-as-current');
  const contentPresent = forDevice ? missingApps.length === 0 && !platformMissing && !rootfsMissing : undefined;
  return {
    name: target.name,
    version: target.version,
    apps: target.apps.map((app) => app.name),
    requiredApps: required.map((app) => app.name),
    missingApps,
    platformMissing,
    rootfsCommit,
    forDevice,
    contentPresent,
    relation,
    installable: forDevice && contentPresent === true && (relation === 'newer' || relation === 'no-current'),
    reasons,
  };
}

function unusableRow(name: string, reasons: RowReason[], problem?: string): TargetRow {
  return {
    name, version: undefined, apps: [], requiredApps: [], missingApps: [], platformMissing: undefined, rootfsCommit: undefined,
    forDevice: false, contentPresent: undefined, relation: 'no-current', installable: false, reasons,
    ...(problem === undefined ? {} : { problem }),
  };
}

function versionRelation(target: Target, device: SelectionDevice): VersionRelation {
  const current = device.currentTarget;
  if (!current) return 'no-current';
  if (target.name === current.name || target.version === current.version) return 'same';
  return target.version > current.version ? 'newer' : 'older';
}
