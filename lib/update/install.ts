import { runCallback, type CallbackStep } from '../device/callbacks.js';
import type { DeviceEnvironment } from '../device/environment.js';
import { acquireDeviceLock } from '../device/lock.js';
import type { DeviceState, TargetRecord } from '../device/state.js';
import type { Outcome } from '../exit-codes.js';
import type { Medium } from '../medium/medium.js';
import { appsRunning } from './app-status.js';
import { requireFreeSpace } from './free-space.js';
import { handlerFor } from './handlers/index.js';
import { inspectMedium, type MediumInspection } from './inspect-medium.js';
import type { PartInstall, PayloadHandler } from './payload.js';
import { describePlan, needsStoppedApps, planUpdate, requireNoOtherPending, type UpdatePlan } from './plan.js';
import { commonStepNames, installStepNames, runSteps } from './steps.js';

export interface InstallOptions {
  readonly requestedTarget?: string;
  readonly force: boolean;
  readonly now?: Date;
}

export interface InstallResult {
  readonly outcome: Outcome;
  readonly target: TargetRecord;
  readonly plan: UpdatePlan;
  /** Images sent to Docker in this run (images Docker already had are only tagged). */
  readonly loadedImages: string[];
}

/**
 * `install`: verify the medium, choose the target, plan the update, then carry out each part's install steps
 * (verify, space, fetch, stage) without touching what runs, and record the pending installation. Ends with
 * 'restart-docker' (101) or 'reboot-required' (100), or 'up-to-date' (0) when the target is installed and its apps
 * run. Every check comes before the first change; a failure leaves the running apps and the device state as they were.
 */
export async function installFromMedium(env: DeviceEnvironment, medium: Medium, options: InstallOptions): Promise<InstallResult> {
  const lock = await acquireDeviceLock(env.files.state.lockPath);
  try {
    const state = await env.files.state.load();
    requireNoOtherPending(state, options);
    const { plan, inspection, upToDate } = await planFromMedium(env, medium, state, options);
    if (upToDate) return { outcome: 'up-to-date', target: plan.target, plan, loadedImages: [] };
    env.onProgress({ type: 'info', message: `installing ${plan.target.name} (version ${plan.target.version}): ${describePlan(plan)}` });
    return await new Installation(env, medium, state, plan, inspection).run();
  } finally {
    await lock.release();
  }
}

async function planFromMedium(env: DeviceEnvironment, medium: Medium, state: DeviceState, options: InstallOptions) {
  const bootedCommit = await env.rootfs.bootedCommitIfOstree();
  const inspection = await inspectMedium(env.config, medium, {
    current: state.current,
    bootedCommit,
    now: options.now ?? new Date(),
    ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }),
    platform: env.platform,
  });
  for (const warning of inspection.verified.warnings) env.onProgress({ type: 'warning', message: warning });
  const stoppedApps = new Set<string>();
  if (needsStoppedApps(inspection.selection, state)) {
    for (const app of state.current!.apps) if (!(await appsRunning(env.engine, [app]))) stoppedApps.add(app.name);
  }
  const decision = planUpdate({
    selection: inspection.selection,
    state,
    enabledApps: env.config.enabledApps,
    bootedCommit,
    stoppedApps,
    request: options,
  });
  return { plan: decision.plan, inspection, upToDate: decision.kind === 'up-to-date' };
}

interface PartInstallation {
  readonly handler: PayloadHandler;
  readonly install: PartInstall;
}

class Installation {
  private readonly parts: readonly PartInstallation[];
  private readonly loadedImages: string[] = [];
  private committed = false;

  constructor(
    private readonly env: DeviceEnvironment,
    medium: Medium,
    private readonly state: DeviceState,
    private readonly plan: UpdatePlan,
    private readonly inspection: MediumInspection,
  ) {
    this.parts = plan.parts.map((part) => {
      const handler = handlerFor(part);
      return { handler, install: handler.install(part, { env, medium, plan }) };
    });
  }

  async run(): Promise<InstallResult> {
    await this.callback('install-pre');
    try {
      await runSteps('install', this.steps(), this.env.onProgress);
    } catch (error) {
      if (!this.committed) for (const { install } of this.parts) await install.forget();
      await this.callback('install-post', `FAILED: ${firstLine(error)}`);
      throw error;
    }
    await this.callback('install-post', 'NEEDS_COMPLETION');
    const outcome = this.parts.some(({ handler }) => handler.needs === 'reboot') ? 'reboot-required' : 'restart-docker';
    return { outcome, target: this.plan.target, plan: this.plan, loadedImages: this.loadedImages };
  }

  /** The steps in `installStepNames` order, each bound to its work. */
  private steps() {
    const { verify, space, commit } = commonStepNames.install;
    const work = new Map<string, () => Promise<void>>([
      [verify, () => this.each((install) => install.verify())],
      [space, () => this.checkSpace()],
      [commit, () => this.commit()],
    ]);
    this.parts.forEach(({ handler, install }, index) => {
      work.set(handler.stepNames.fetch, () => this.fetch(install, index === 0, index === this.parts.length - 1));
      work.set(handler.stepNames.stage, () => install.stage());
    });
    return installStepNames(this.parts.map(({ handler }) => handler)).map((name) => ({ name, run: work.get(name)! }));
  }

  private async each(work: (install: PartInstall) => Promise<void>): Promise<void> {
    for (const { install } of this.parts) await work(install);
  }

  private async checkSpace(): Promise<void> {
    const needs = [];
    for (const { install } of this.parts) needs.push(...(await install.spaceNeeded()));
    await requireFreeSpace(needs, this.env.config.storageWatermark);
  }

  /** Fetching the parts is the download of aktualizr-lite's callbacks: download-pre before the first, download-post after the last. */
  private async fetch(install: PartInstall, first: boolean, last: boolean): Promise<void> {
    if (first) await this.callback('download-pre');
    try {
      this.loadedImages.push(...(await install.fetch()).loadedImages);
    } catch (error) {
      await this.callback('download-post', `FAILED: ${firstLine(error)}`);
      throw error;
    }
    if (last) await this.callback('download-post', 'OK');
  }

  /**
   * The newly trusted metadata, then the pending installation: from here on, `run` owns the update. It comes
   * before any staging that changes the next boot, so that a new rootfs never becomes the next boot unrecorded.
   */
  private async commit(): Promise<void> {
    await this.inspection.trustStore.persist(this.inspection.verified);
    await this.env.files.state.save({
      ...this.state,
      pending: { ...this.plan, phase: 'staged', installedAt: new Date().toISOString() },
    });
    this.committed = true;
  }

  private async callback(step: CallbackStep, result?: string): Promise<void> {
    await runCallback(this.env.config.callbackProgram, step, {
      currentTargetPath: this.env.files.state.currentTargetPath,
      currentTargetName: this.state.current?.name,
      installTargetName: this.plan.target.name,
    }, result);
  }
}

function firstLine(error: unknown): string {
  return (error as Error).message.split('\n')[0]!;
}
