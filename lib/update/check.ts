import type { DeviceEnvironment } from '../device/environment.js';
import { withoutFinishedUpdate, type TargetRecord } from '../device/state.js';
import { FioupError } from '../errors.js';
import type { Outcome } from '../exit-codes.js';
import type { Medium } from '../medium/medium.js';
import type { TargetRow } from '../targets/selection.js';
import { checkIn, deviceFacts, planAfterCheckIn, requireEngineForApps } from './check-in.js';
import { dryRunInstall, type DryRun } from './dry-run.js';
import { insufficientSpace, type FilesystemSpace } from './free-space.js';
import type { ContentCheck } from './payload.js';
import { describePlan, refusalOf, requireNoOtherPending, type UpdatePlan } from './plan.js';

export interface CheckOptions {
  readonly requestedTarget?: string;
  /** As `install --force`: a downgrade, or a target that failed before, is planned rather than refused. */
  readonly force?: boolean;
  /** Read and hash every blob the install would read (a dry run of its loads, nothing loaded). */
  readonly verifyContent?: boolean;
  /** List every target of the trusted metadata, not only this device's. */
  readonly allTargets?: boolean;
  readonly now?: Date;
}

/** A target as `check` lists it: what the selection says, and whether install would install it with these options. */
export type CheckedTarget = TargetRow & {
  /** Why install refuses it without --force (a downgrade, a target that failed before). */
  readonly refusal?: string;
};

export interface CheckReport {
  readonly medium: string;
  readonly device: {
    readonly hardwareId: string;
    readonly tags: readonly string[];
    readonly deviceType: string | undefined;
    readonly currentTarget: TargetRecord | undefined;
    readonly bootedCommit: string | undefined;
    /** The configuration files read, in the order they were merged. */
    readonly configFiles: readonly string[];
  };
  readonly metadata: {
    readonly rootVersion: number;
    readonly targetsVersion: number;
    readonly expires: Readonly<Record<string, string>>;
    readonly usedStoredMetadata: boolean;
    readonly bundle: { readonly type: string; readonly tag: string | undefined; readonly targets: readonly string[] } | undefined;
    readonly checkedAt: string;
  };
  readonly warnings: readonly string[];
  /** The targets for this device (and the one asked for), or with `allTargets` every one. */
  readonly targets: readonly CheckedTarget[];
  readonly selected: string | undefined;
  /** What install would do: the plan, with a line for people. */
  readonly plan: (UpdatePlan & { readonly description: string }) | undefined;
  /** What install would write on each filesystem, against `[pacman] storage_watermark`. */
  readonly space: { readonly watermarkPercent: number; readonly filesystems: readonly FilesystemSpace[] } | undefined;
  /** With `verifyContent`: the blobs read and hashed, all intact. */
  readonly content: ContentCheck | undefined;
  /** The outcome, or the error that decides the exit code (6, 8, 20, 30, 60, 70, 102...) once the report is shown. */
  readonly verdict: { readonly outcome: Outcome } | { readonly error: FioupError };
}

/**
 * `check`: what the medium offers this device, and what `install` would do with it, decided the same way: the
 * check-in, the plan with its refusals (`planUpdate`: a downgrade or a target that failed before 102, another
 * installation pending 30), the hash chains of the apps, the space against the watermark (60), and with
 * `verifyContent` every blob hashed (70). Outcomes: 'update-available' (16), 'up-to-date' (0), 'up-to-date-cached' (3)
 * when there is nothing to install and the medium's metadata is older than the device's, or 'apps-need-sync' (17)
 * when the current target is the newest but some of its apps do not run. Failures of the metadata itself (11, 12,
 * 14, 15) are thrown; the others come in the report. It changes nothing on the device (aklite-offline's check also
 * stores the metadata it verified; here only `install` does), so it takes no lock and may run beside anything.
 */
export async function checkMedium(env: DeviceEnvironment, medium: Medium, options: CheckOptions = {}): Promise<CheckReport> {
  await requireEngineForApps(env);
  const { config } = env;
  const state = withoutFinishedUpdate(await env.files.state.load());
  const facts = await deviceFacts(env, state);
  const now = options.now ?? new Date();
  const request = { force: options.force ?? false, ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }) };
  const { inspection, verdict: target } = await checkIn(env, medium, {
    recorded: state.current,
    current: facts.current,
    bootedCommit: facts.bootedCommit,
    now,
    ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }),
    ...(options.allTargets ? { everyTarget: true } : {}),
  });
  const { verified, selection } = inspection;
  let verdict: CheckReport['verdict'];
  let plan: UpdatePlan | undefined;
  let dryRun: DryRun | undefined;
  if (target instanceof Error) {
    verdict = { error: target };
  } else {
    try {
      requireNoOtherPending(state, request);
      const decision = await planAfterCheckIn(env, selection, state, facts, request);
      if (decision.kind === 'up-to-date') {
        verdict = { outcome: verified.usedStoredMetadata ? 'up-to-date-cached' : 'up-to-date' };
      } else {
        plan = decision.plan;
        dryRun = await dryRunInstall(env, medium, plan, inspection, { verifyContent: options.verifyContent ?? false });
        const full = dryRun.space.find((space) => !space.fits);
        verdict = full ? { error: insufficientSpace(full, config.storageWatermark) } : { outcome: target.row.relation === 'same' ? 'apps-need-sync' : 'update-available' };
      }
    } catch (error) {
      if (!(error instanceof FioupError)) throw error;
      verdict = { error };
    }
  }
  const expires: Record<string, string> = { root: verified.root.fields.expires.toISOString(), targets: verified.targets.fields.expires.toISOString() };
  if (verified.timestamp) expires.timestamp = verified.timestamp.fields.expires.toISOString();
  if (verified.snapshot) expires.snapshot = verified.snapshot.fields.expires.toISOString();
  if (verified.bundleTargets) expires['bundle-targets'] = verified.bundleTargets.fields.expires.toISOString();
  return {
    medium: medium.description,
    device: { hardwareId: config.hardwareId, tags: config.tags, deviceType: config.deviceType, currentTarget: state.current, bootedCommit: facts.bootedCommit, configFiles: config.files },
    metadata: {
      rootVersion: verified.root.fields.version,
      targetsVersion: verified.targets.fields.version,
      expires,
      usedStoredMetadata: verified.usedStoredMetadata,
      bundle: verified.bundleTargets?.fields.bundle,
      checkedAt: now.toISOString(),
    },
    warnings: verified.warnings,
    targets: selection.rows
      .filter((row) => options.allTargets || row.forDevice || row.name === selection.requested)
      .map((row) => checkedTarget(row, row.forDevice ? refusalOf(row, state, facts.current, request) : undefined)),
    selected: selection.selected?.name,
    plan: plan && { ...plan, description: describePlan(plan) },
    space: dryRun && { watermarkPercent: config.storageWatermark, filesystems: dryRun.space },
    content: dryRun?.content,
    verdict,
  };
}

/** Installable: for this device, complete on the medium, not the current target, and not refused. */
function checkedTarget(row: TargetRow, refusal: Error | undefined): CheckedTarget {
  return {
    ...row,
    installable: row.forDevice && row.contentPresent === true && row.relation !== 'same' && refusal === undefined,
    ...(refusal ? { refusal: refusal.message } : {}),
  };
}
