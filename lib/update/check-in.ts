import type { DeviceEnvironment } from '../device/environment.js';
import type { TargetRecord } from '../device/state.js';
import { FioupError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import type { TargetRow } from '../targets/selection.js';
import type { Target } from '../targets/target.js';
import { requireInstallableTarget } from '../targets/verdict.js';
import { inspectMedium, type MediumInspection } from './inspect-medium.js';

export interface CheckInOptions {
  /** What the device recorded as current (undefined before the first update). */
  readonly recorded: TargetRecord | undefined;
  /** What the device runs: the recorded target, else the initial one; named in the callbacks. */
  readonly current: TargetRecord;
  readonly bootedCommit: string | undefined;
  readonly requestedTarget?: string;
  readonly now: Date;
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

export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
