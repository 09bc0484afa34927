import { stat } from 'node:fs/promises';
import { buildInfo } from '../build-info.js';
import type { DeviceEnvironment } from '../device/environment.js';
import { targetRef, UpdateHistory, type HistoryCommand, type HistoryEntry } from '../device/history.js';
import { ExitCode, exitCodeForError, type ExitCodeValue, type Outcome } from '../exit-codes.js';
import { EngineUnavailableError } from '../errors.js';
import { explainSystemError } from '../fs/system-errors.js';
import { findMediaOnRemovableDrives, openMedium } from '../medium/open-medium.js';
import { deviceIdentity } from '../report/device-identity.js';
import { reportsRootOf } from '../report/list.js';
import { buildReport, type ReportApp, type UpdateReport } from '../report/report.js';
import { writeReportOnMedium, type ReportWriteOutcome } from '../report/writer.js';
import { installFromMedium } from '../update/install.js';
import { runPending } from '../update/run.js';
import { deviceStatus } from '../update/status.js';
import { RebootSchedule } from './reboot-schedule.js';

export interface AutoUpdateOptions {
  /** The medium: its mount point, a bundle directory or archive. Undefined after the reboot, when it may be gone. */
  readonly mediumPath: string | undefined;
  /** Asks the system to reboot; called once the report is on the medium. */
  readonly requestReboot: () => Promise<void>;
}

export interface AutoUpdateResult {
  /** Undefined when, after a reboot, no update of `auto` was waiting for it. */
  readonly report: UpdateReport | undefined;
  readonly exitCode: ExitCodeValue;
  /** Undefined without a medium. */
  readonly reportWrite: ReportWriteOutcome | undefined;
  readonly rebootRequested: boolean;
}

const EARLIER_UPDATES_IN_REPORT = 5;

/**
 * `auto`: the whole update as far as it goes without a reboot, for the USB unit. An installation left pending is
 * run first; then the medium's target is installed and, when only apps change, run. A rootfs update (or a rollback
 * that must boot the previous rootfs) leaves a note for `auto --after-reboot` and asks for the reboot. The report
 * goes onto the medium before that; a medium that cannot take it is a warning, never a failure of the update.
 * The exit code is that of the last step.
 */
export async function autoUpdate(env: DeviceEnvironment, options: AutoUpdateOptions): Promise<AutoUpdateResult> {
  const schedule = new RebootSchedule(env.files.state.directory);
  const before = await env.files.state.load();
  // A rollback left pending (dockerd stopped answering in the middle) is completed at boot, whoever started it.
  const rollbackPending = before.pending?.phase === 'rolling-back';
  if (options.mediumPath === undefined && !rollbackPending && !(await schedule.isScheduled())) {
    env.onProgress({ type: 'info', message: 'no update started by fioup-offline auto waits for this boot: nothing to do' });
    return { report: undefined, exitCode: ExitCode.ok, reportWrite: undefined, rebootRequested: false };
  }
  const startedAt = new Date();
  const history = UpdateHistory.of(env.files.state);
  const earlierUpdates = (await history.load()).slice(-EARLIER_UPDATES_IN_REPORT).reverse();
  const steps = new StepLog(history, targetRef(before.current));

  const run = () => steps.run('run', async () => (await runPending(env)).outcome);
  const install = (mediumPath: string) => steps.run('install', async () => {
    const medium = await openMedium(await bundleOn(mediumPath));
    try {
      return (await installFromMedium(env, medium, { force: false })).outcome;
    } finally {
      await medium.close();
    }
  });
  if (options.mediumPath === undefined) {
    await run();
  } else if (!before.pending || (await run()) === 'done') {
    if ((await install(options.mediumPath)) === 'apps-installed') await run();
  }

  const after = await env.files.state.load();
  const rebootNeeded = steps.lastOutcome === 'reboot-required';
  // dockerd not answering (not up yet at boot, or gone): what waits for this boot still waits, for the next attempt.
  const engineDown = steps.lastFailure instanceof EngineUnavailableError;
  if (rebootNeeded) await schedule.schedule(targetRef(after.pending?.target));
  else if (engineDown && (await schedule.isScheduled())) {
    env.onProgress({ type: 'warning', message: "Docker does not answer: the update stays scheduled for the next boot; 'fioup-offline run' finishes it once dockerd answers" });
  } else await schedule.clear();

  const report = buildReport({
    tool: buildInfo(),
    device: await deviceIdentity(env.config),
    medium: options.mediumPath,
    period: { startedAt, finishedAt: new Date() },
    targets: { previous: targetRef(before.current), current: targetRef(after.current), pending: targetRef(after.pending?.target) },
    steps: steps.entries,
    apps: await appStates(env),
    earlierUpdates,
  });
  const reportWrite = options.mediumPath === undefined ? undefined : await writeReport(env, options.mediumPath, report);
  if (rebootNeeded) {
    env.onProgress({ type: 'info', message: 'rebooting to finish the update (fioup-offline-finish.service completes it after the reboot)' });
    await options.requestReboot().catch((error: Error) => env.onProgress({ type: 'warning', message: `the reboot could not be requested: ${error.message}; reboot the device to finish the update` }));
  }
  return { report, exitCode: report.exitCode, reportWrite, rebootRequested: rebootNeeded };
}

/**
 * The steps of this update, as the history recorded them (target, result, reason, log tail). A step that failed
 * before it could record anything (the medium cannot be opened, the device is locked) is logged from its error.
 */
class StepLog {
  readonly entries: HistoryEntry[] = [];
  lastOutcome: Outcome | undefined;
  /** Why the last step failed, when it did. */
  lastFailure: unknown;

  constructor(private readonly history: UpdateHistory, private readonly previous: HistoryEntry['previous']) {}

  async run(command: HistoryCommand, work: () => Promise<Outcome>): Promise<Outcome | undefined> {
    const startedAt = new Date();
    this.lastOutcome = undefined;
    let failure: unknown;
    try {
      this.lastOutcome = await work();
    } catch (error) {
      failure = explainSystemError(error);
    }
    this.lastFailure = failure;
    const recorded = (await this.history.load()).filter((entry) => entry.command === command && entry.startedAt >= startedAt.toISOString());
    if (recorded.length > 0) this.entries.push(...recorded);
    else if (failure !== undefined) this.entries.push(this.unrecorded(command, startedAt, failure));
    return this.lastOutcome;
  }

  private unrecorded(command: HistoryCommand, startedAt: Date, error: unknown): HistoryEntry {
    return {
      command,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      target: undefined,
      previous: this.previous,
      result: 'failed',
      exitCode: exitCodeForError(error),
      error: (error as Error)?.name ?? 'Error',
      reason: ((error as Error)?.message ?? String(error)).split('\n')[0]!,
    };
  }
}

/** The one bundle on a drive's mount point (a bundle directory, or a tar or zip file at its root), or what the path names. */
async function bundleOn(mediumPath: string): Promise<string> {
  return (await stat(mediumPath)).isDirectory() ? findMediaOnRemovableDrives({ mountRoots: [mediumPath] }) : mediumPath;
}

/** Each app of the current target and its state; 'unknown' when Docker cannot say. */
async function appStates(env: DeviceEnvironment): Promise<ReportApp[]> {
  try {
    return (await deviceStatus(env)).apps.map((app) => ({ name: app.name, uri: app.uri, state: app.state }));
  } catch (error) {
    env.onProgress({ type: 'warning', message: `the apps' state could not be read: ${(error as Error).message}` });
    const { current } = await env.files.state.load();
    return (current?.apps ?? []).map((app) => ({ name: app.name, uri: app.uri, state: 'unknown' }));
  }
}

async function writeReport(env: DeviceEnvironment, mediumPath: string, report: UpdateReport): Promise<ReportWriteOutcome> {
  const outcome = await reportsRootOf(mediumPath).then(
    (root) => writeReportOnMedium(root, report),
    (error: Error): ReportWriteOutcome => ({ written: false, problem: error.message }),
  );
  if (outcome.written) env.onProgress({ type: 'info', message: `report written to ${outcome.files.join(' and ')}` });
  else env.onProgress({ type: 'warning', message: `the report could not be written onto the medium (${outcome.problem}); the update itself is not affected` });
  return outcome;
}
