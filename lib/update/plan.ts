import type { AppRecord, DeviceState, TargetRecord } from '../device/state.js';
import { DowngradeRefusedError, InstallationPendingError } from '../errors.js';
import type { EnabledApps } from '../config/device-config.js';
import { requiredApps, type Selection, type TargetRow } from '../targets/selection.js';
import type { Target } from '../targets/target.js';
import { requireInstallableTarget } from '../targets/verdict.js';

/**
 * The update as a plan of payload parts: which target, from which, and what each payload (the Compose Apps, the
 * OSTree rootfs) has to do. Deciding is pure (`planUpdate`); carrying the plan out belongs to the payload handlers
 * (`handlers/`), driven by the install and run pipelines. The pending installation persisted in the device state is
 * the plan plus where it stands.
 */

/**
 * `stray`: a project in `compose_apps_root` that no target of this tool put there (left by aktualizr-lite, or by hand)
 * and the target does not run: stopped and removed, with its images, as composeappmanager.cc removes apps that are
 * not in the current target.
 */
export type AppChangeKind = 'new' | 'updated' | 'unchanged' | 'removed' | 'disabled' | 'stray';

/** What an update does to one app. */
export interface AppChange {
  readonly name: string;
  readonly kind: AppChangeKind;
  /** What runs now (updated, unchanged, removed, disabled, stray; the URI of a stray app is not known: ''). */
  readonly from: AppRecord | undefined;
  /** What the target runs (new, updated, unchanged). */
  readonly to: AppRecord | undefined;
}

/** The Compose Apps of the update: one change per app that runs now or that the target runs. */
export interface AppsPart {
  readonly kind: 'apps';
  readonly changes: readonly AppChange[];
}

/** On OSTree devices: the commit to boot, and the booted one to fall back to. */
export interface RootfsPart {
  readonly kind: 'rootfs';
  readonly commit: string;
  readonly previousCommit: string;
}

export type PlanPart = RootfsPart | AppsPart;
export type PartKind = PlanPart['kind'];

export interface UpdatePlan {
  readonly target: TargetRecord;
  readonly previous: TargetRecord | undefined;
  /** In the order they are fetched and switched: the rootfs first (its pull precedes any Docker change), then the apps. */
  readonly parts: readonly PlanPart[];
}

/**
 * Where an installation stands; `run` resumes from here after a crash or restart. `finishing`: the target is
 * current already, and what only the previous payload used is being removed.
 */
export type PendingPhase = 'staged' | 'switching' | 'rolling-back' | 'finishing';

/** An installed plan waiting for (or in the middle of) `run`. */
export interface PendingInstallation extends UpdatePlan {
  readonly phase: PendingPhase;
  readonly installedAt: string;
  /** The target that failed on its new rootfs, when this installation puts the previous target back. */
  readonly rollbackOf?: string;
}

export function partOf<K extends PartKind>(plan: UpdatePlan, kind: K): Extract<PlanPart, { kind: K }> | undefined {
  return plan.parts.find((part): part is Extract<PlanPart, { kind: K }> => part.kind === kind);
}

/**
 * What each app goes through when moving from the apps running now to the target's: `targetApps` are every app of
 * the target, `enabled` those this device runs, `present` the projects found in `compose_apps_root`. An app whose
 * URI changed is updated; an app the target drops is removed; an app the config no longer enables is disabled; a
 * project that is none of these is stray.
 */
function planAppChanges(running: readonly AppRecord[], targetApps: readonly AppRecord[], enabled: readonly AppRecord[], present: readonly string[] = []): AppChange[] {
  const before = new Map(running.map((app) => [app.name, app]));
  const inTarget = new Set(targetApps.map((app) => app.name));
  const changes: AppChange[] = [];
  for (const app of enabled) {
    const from = before.get(app.name);
    const kind: AppChangeKind = !from ? 'new' : from.uri === app.uri ? 'unchanged' : 'updated';
    changes.push({ name: app.name, kind, from, to: app });
  }
  const enabledNames = new Set(enabled.map((app) => app.name));
  for (const app of running) {
    if (enabledNames.has(app.name)) continue;
    changes.push({ name: app.name, kind: inTarget.has(app.name) ? 'disabled' : 'removed', from: app, to: undefined });
  }
  const known = new Set(changes.map((change) => change.name));
  for (const name of present) {
    if (!known.has(name)) changes.push({ name, kind: 'stray', from: { name, uri: '' }, to: undefined });
  }
  return changes.sort((a, b) => a.name.localeCompare(b.name));
}

/** The apps an update brings onto the device: new and updated ones. */
export function appsToInstall(changes: readonly AppChange[]): AppRecord[] {
  return changes.flatMap((change) => (change.kind === 'new' || change.kind === 'updated' ? [change.to!] : []));
}

export interface InstallRequest {
  readonly requestedTarget?: string;
  readonly force: boolean;
}

/**
 * Refuses at once an install while another installation waits for `run`: one in the middle of its switch, or one
 * of another target than the one asked for. Checked before the medium is read.
 */
export function requireNoOtherPending(state: DeviceState, request: InstallRequest): void {
  const pending = state.pending;
  if (pending && (pending.phase !== 'staged' || (request.requestedTarget !== undefined && request.requestedTarget !== pending.target.name))) {
    throw pendingError(pending);
  }
}

/** Whether planning needs to know which of the current target's apps are stopped (installing the current target again). */
export function needsStoppedApps(selection: Selection, state: DeviceState): boolean {
  return selection.selected?.relation === 'same' && !state.pending && state.current !== undefined;
}

export interface PlanInput {
  readonly selection: Selection;
  readonly state: DeviceState;
  /** What the device runs: the recorded current target, else the initial one (state.ts `initialTarget`). */
  readonly current: TargetRecord | undefined;
  /** `[pacman] type`: false for `ostree`, which leaves apps alone. */
  readonly appsManaged: boolean;
  readonly enabledApps: EnabledApps;
  /** The projects found in `compose_apps_root`. */
  readonly presentApps: readonly string[];
  /** The booted commit on OSTree devices. */
  readonly bootedCommit: string | undefined;
  /** Apps of the current target that do not run, when `needsStoppedApps` said they matter. */
  readonly stoppedApps: ReadonlySet<string>;
  readonly request: InstallRequest;
}

export type PlanDecision =
  /** The target is installed and every app of it runs. */
  | { readonly kind: 'up-to-date'; readonly plan: UpdatePlan }
  | { readonly kind: 'install'; readonly plan: UpdatePlan };

/**
 * The install rules, in the order aklite-offline applies them: an installable target (6, 8, 20: verdict.ts), no
 * downgrade (102) nor target that failed before (102) without --force, no other installation pending (30). A staged
 * installation of the same target is resumed with its own app changes. Installing the current target again
 * reinstalls the apps of it that stopped ("apps need sync").
 */
export function planUpdate(input: PlanInput): PlanDecision {
  const { selection, state, current, request } = input;
  const { row: selected, target } = requireInstallableTarget(selection);
  const refusal = refusalOf(selected, state, current, request);
  if (refusal) throw refusal;
  const pending = state.pending;
  if (pending && pending.target.name !== selected.name) throw pendingError(pending);

  const record = targetRecord(target, input);
  const running = current?.apps ?? [];
  let changes: readonly AppChange[] = [];
  if (pending) changes = partOf(pending, 'apps')?.changes ?? [];
  else if (input.appsManaged) changes = planAppChanges(running, target.apps.map(appRecord), record.apps, input.presentApps);
  if (selected.relation === 'same' && !pending) {
    changes = changes.map((change) => (change.kind === 'unchanged' && input.stoppedApps.has(change.name) ? { ...change, kind: 'updated' as const } : change));
  }
  const parts: PlanPart[] = [];
  if (selected.rootfsCommit && input.bootedCommit) parts.push({ kind: 'rootfs', commit: selected.rootfsCommit, previousCommit: input.bootedCommit });
  if (changes.length > 0) parts.push({ kind: 'apps', changes });
  const plan: UpdatePlan = { target: record, previous: pending?.previous ?? current, parts };
  const nothingToDo = record.name === current?.name && parts.every((part) => part.kind === 'apps' && part.changes.every((change) => change.kind === 'unchanged'));
  return { kind: nothingToDo ? 'up-to-date' : 'install', plan };
}

/**
 * Why install refuses a target without --force (102): it is older than the current one, or it failed before and was
 * rolled back. `check` asks it of every target it lists.
 */
export function refusalOf(row: TargetRow, state: DeviceState, current: TargetRecord | undefined, request: InstallRequest): DowngradeRefusedError | undefined {
  if (request.force) return undefined;
  if (row.relation === 'older') {
    return new DowngradeRefusedError(`target ${row.name} (version ${row.version}) is older than the current ${current?.name} (version ${current?.version}): use --force to downgrade`);
  }
  if (state.failedTargets.includes(row.name)) return new DowngradeRefusedError(`target ${row.name} failed to start before and was rolled back: use --force to try it again`);
  return undefined;
}

/**
 * After the new apps failed on a new rootfs: the plan that puts the previous target back, its rootfs commit to boot
 * again and its apps as they were. Undefined when there was no previous target to return to.
 */
export function planRootfsRollback(failed: UpdatePlan): UpdatePlan | undefined {
  const rootfs = partOf(failed, 'rootfs');
  const previous = failed.previous;
  if (!rootfs || !previous) return undefined;
  const changes = planAppChanges(previous.apps, previous.apps, previous.apps);
  return {
    target: previous,
    previous,
    parts: [
      { kind: 'rootfs', commit: rootfs.previousCommit, previousCommit: rootfs.commit },
      ...(changes.length > 0 ? [{ kind: 'apps' as const, changes }] : []),
    ],
  };
}

/** The target as the device records it: the apps it runs (none when apps are not managed), and its build facts. */
function targetRecord(target: Target, input: PlanInput): TargetRecord {
  const enabled = input.appsManaged ? requiredApps(target, input.enabledApps).map(appRecord) : [];
  const enabledNames = new Set(enabled.map((app) => app.name));
  const disabled = input.appsManaged ? requiredApps(target).filter((app) => !enabledNames.has(app.name)).map(appRecord) : [];
  return {
    name: target.name,
    version: target.version,
    sha256: target.sha256 ?? '',
    apps: enabled,
    ...(disabled.length > 0 ? { disabledApps: disabled } : {}),
    tags: target.tags,
    ...(target.lmpManifestSha ? { lmpManifestSha: target.lmpManifestSha } : {}),
    ...(target.metaSubscriberOverridesSha ? { metaSubscriberOverridesSha: target.metaSubscriberOverridesSha } : {}),
    ...(target.containersSha ? { containersSha: target.containersSha } : {}),
    ...(target.custom ? { custom: target.custom } : {}),
  };
}

/** One line for the technician: "kiosk updated, sensor new", or "no app changes". */
export function describePlan(plan: UpdatePlan): string {
  const changes = partOf(plan, 'apps')?.changes ?? [];
  const parts = changes.filter((change) => change.kind !== 'unchanged')
    .map((change) => `${change.name} ${change.kind === 'stray' ? 'removed (not part of the target)' : change.kind}`);
  return parts.length ? parts.join(', ') : 'no app changes';
}

function appRecord(app: { name: string; uri: string }): AppRecord {
  return { name: app.name, uri: app.uri };
}

function pendingError(pending: PendingInstallation): InstallationPendingError {
  return new InstallationPendingError(`target ${pending.target.name} is installed and waits for 'fioup-offline run'; run it first`);
}
