import type { DeviceEnvironment } from '../device/environment.js';
import type { TargetRecord } from '../device/state.js';
import { FioupError } from '../errors.js';
import type { Outcome } from '../exit-codes.js';
import type { Medium } from '../medium/medium.js';
import type { TargetRow } from '../targets/selection.js';
import { checkVerdict } from '../targets/verdict.js';
import { appsRunning } from './app-status.js';
import { inspectMedium } from './inspect-medium.js';

export interface CheckReport {
  readonly medium: string;
  readonly device: {
    readonly hardwareId: string;
    readonly tags: readonly string[];
    readonly deviceType: string;
    readonly currentTarget: TargetRecord | undefined;
    readonly bootedCommit: string | undefined;
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
  readonly targets: readonly TargetRow[];
  readonly selected: string | undefined;
  /** The outcome, or the error that decides the exit code (6, 8...) once the report is shown. */
  readonly verdict: { readonly outcome: Outcome } | { readonly error: FioupError };
}

/**
 * `check`: what the medium offers this device, and whether it can be installed: 'update-available' (16), 'up-to-date'
 * (0), or 'apps-need-sync' (17) when the current target is the newest but some of its apps do not run. Changes nothing.
 * Failures of the metadata itself (11, 12, 14, 15) are thrown; target verdicts (6, 8) come in the report.
 */
export async function checkMedium(env: DeviceEnvironment, medium: Medium, options: { requestedTarget?: string; now?: Date } = {}): Promise<CheckReport> {
  const { config, engine } = env;
  const state = await env.files.state.load();
  const bootedCommit = await env.rootfs.bootedCommitIfOstree();
  const now = options.now ?? new Date();
  const { verified, selection } = await inspectMedium(config, medium, {
    current: state.current,
    bootedCommit,
    ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }),
    now,
    platform: env.platform,
  });
  let verdict: CheckReport['verdict'];
  try {
    verdict = { outcome: checkVerdict(selection) };
    if (selection.selected?.relation === 'same' && state.current && !(await appsRunning(engine, state.current.apps))) {
      verdict = { outcome: 'apps-need-sync' };
    }
  } catch (error) {
    if (!(error instanceof FioupError)) throw error;
    verdict = { error };
  }
  const expires: Record<string, string> = { root: verified.root.fields.expires.toISOString(), targets: verified.targets.fields.expires.toISOString() };
  if (verified.timestamp) expires.timestamp = verified.timestamp.fields.expires.toISOString();
  if (verified.snapshot) expires.snapshot = verified.snapshot.fields.expires.toISOString();
  if (verified.bundleTargets) expires['bundle-targets'] = verified.bundleTargets.fields.expires.toISOString();
  return {
    medium: medium.description,
    device: { hardwareId: config.hardwareId, tags: config.tags, deviceType: config.deviceType, currentTarget: state.current, bootedCommit },
    metadata: {
      rootVersion: verified.root.fields.version,
      targetsVersion: verified.targets.fields.version,
      expires,
      usedStoredMetadata: verified.usedStoredMetadata,
      bundle: verified.bundleTargets?.fields.bundle,
      checkedAt: now.toISOString(),
    },
    warnings: verified.warnings,
    targets: selection.rows,
    selected: selection.selected?.name,
    verdict,
  };
}
