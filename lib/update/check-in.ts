import type { DeviceEnvironment } from '../device/environment.js';
import { initialTarget, type DeviceState, type TargetRecord } from '../device/state.js';
import { FioupError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import type { Selection, TargetRow } from '../targets/selection.js';
import type { Target } from '../targets/target.js';
import { requireInstallableTarget } from '../targets/verdict.js';
import { appsRunning } from './app-status.js';
import type { SpaceNeed } from './free-space.js';
import { inspectMedium, type MediumInspection } from './inspect-medium.js';
import { needsStoppedApps, planUpdate, type InstallRequest, type PlanDecision } from './plan.js';

export interface CheckInOptions {
  /** What the device recorded as current (undefined before the first update). */
  readonly recorded: TargetRecord | undefined;
  /** What the device runs: the recorded target, else the initial one; named in the callbacks. */
  readonly current: TargetRecord;
  readonly bootedCommit: string | undefined;
  readonly requestedTarget?: string;
  readonly now: Date;
  /** List every target of the trusted metadata, not only those for this device's hardware id (`check --all`). */
  readonly everyTarget?: boolean;
}

export interface CheckIn {
  readonly inspection: MediumInspection;
  /** The target to install, or why there is none (6, 8, 20). */
  readonly verdict: { readonly row: TargetRow; readonly target: Target } | FioupError;
}

/**
 * aktualizr-lite's check-in against the medium, shared by `check` and `install`: the `check-for-update-pre` callback,
 * the verification of the medium's metadata and the choice of a target, then `check-for-update-post` with `OK` and
 * the target, or `FAILED: <why>` (liteclient.cc notifyTufUpdateFinished). Failures of the metadata are thrown; the
 * lack of an installable target is returned, for `check` to report and `install` to throw.
 */
export async function checkIn(env: DeviceEnvironment, medium: Medium, options: CheckInOptions): Promise<CheckIn> {
  const current = options.current.name;
  await env.callbacks.notify('check-for-update-pre', { current });
  let inspection: MediumInspection;
  try {
    inspection = await inspectMedium(env.config, medium, {
      current: options.recorded,
      bootedCommit: options.bootedCommit,
      now: options.now,
      ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }),
      ...(options.everyTarget ? { everyTarget: true } : {}),
      platform: env.platform,
      trustStore: env.trustStore(),
    });
  } catch (error) {
    await env.callbacks.notify('check-for-update-post', { current }, `FAILED: ${firstLine(error)}`);
    throw error;
  }
  let verdict: CheckIn['verdict'];
  try {
    verdict = requireInstallableTarget(inspection.selection);
  } catch (error) {
    if (!(error instanceof FioupError)) throw error;
    verdict = error;
  }
  if (verdict instanceof FioupError) await env.callbacks.notify('check-for-update-post', { current }, `FAILED: ${firstLine(verdict)}`);
  else await env.callbacks.notify('check-for-update-post', { current, installing: verdict.row.name }, 'OK');
  return { inspection, verdict };
}

/** Apps need Docker: asked before anything else, so that a stopped dockerd is named at once, not after verification. */
export async function requireEngineForApps(env: DeviceEnvironment): Promise<void> {
  if (env.config.packageManager === 'ostree+compose_apps') await env.engine.requireRunning();
}

/** What the device runs, as `check` and `install` plan from it. */
export interface DeviceFacts {
  /** The recorded current target, else the initial one (the booted rootfs, the projects found). */
  readonly current: TargetRecord;
  /** The projects found in `compose_apps_root`. */
  readonly presentApps: readonly string[];
  readonly bootedCommit: string | undefined;
}

export async function deviceFacts(env: DeviceEnvironment, state: DeviceState): Promise<DeviceFacts> {
  const bootedCommit = await env.rootfs.bootedCommitIfOstree();
  const presentApps = await env.files.apps.installed();
  return { current: state.current ?? initialTarget(bootedCommit, presentApps), presentApps, bootedCommit };
}

/**
 * The plan of the update from what the check-in selected, by `planUpdate` and its refusals (downgrade, failed
 * before, another installation pending): `install` carries it out, `check` reports it.
 */
export async function planAfterCheckIn(env: DeviceEnvironment, selection: Selection, state: DeviceState, facts: DeviceFacts, request: InstallRequest): Promise<PlanDecision> {
  const stoppedApps = new Set<string>();
  if (needsStoppedApps(selection, state)) {
    for (const app of state.current!.apps) if (!(await appsRunning(env.engine, [app]))) stoppedApps.add(app.name);
  }
  return planUpdate({
    selection,
    state,
    current: facts.current,
    appsManaged: env.config.packageManager === 'ostree+compose_apps',
    enabledApps: env.config.enabledApps,
    presentApps: facts.presentApps,
    bootedCommit: facts.bootedCommit,
    stoppedApps,
    request,
  });
}

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** state.json, history.json, current-target and the image journal, each rewritten once beside itself. */
const STATE_REWRITE_BYTES = 1024 * 1024;
const STATE_REWRITE_INODES = 8;

/**
 * What an install writes of the device's own state: the metadata its commit stores (files, or sql.db rewritten
 * beside itself), and room for rewriting the device's own files (each written beside itself first). `check` counts
 * it as `install` does.
 */
export async function deviceStateNeed(env: DeviceEnvironment, inspection: MediumInspection): Promise<SpaceNeed> {
  const metadata = await inspection.trustStore.persistNeed(inspection.verified);
  return {
    path: env.files.state.storagePath,
    bytes: metadata.bytes + STATE_REWRITE_BYTES,
    inodes: metadata.files + STATE_REWRITE_INODES,
    what: 'the device state',
  };
}
