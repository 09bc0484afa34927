import type { CallbackStep, CallbackTargets } from '../device/callbacks.js';
import type { DeviceEnvironment } from '../device/environment.js';
import { recordAttempt, targetRef, type Attempt } from '../device/history.js';
import { withoutFinishedUpdate, type DeviceState, type TargetRecord } from '../device/state.js';
import type { Outcome } from '../exit-codes.js';
import type { Medium } from '../medium/medium.js';
import { explainSystemError } from '../fs/system-errors.js';
import { checkIn, deviceFacts, deviceStateNeed, planAfterCheckIn, requireEngineForApps } from './check-in.js';
import { requireFreeSpace } from './free-space.js';
import { handlerFor } from './handlers/index.js';
import type { MediumInspection } from './inspect-medium.js';
import { removeLeftovers } from './leftovers.js';
import type { PartInstall, PayloadHandler } from './payload.js';
import { describePlan, requireNoOtherPending, type UpdatePlan } from './plan.js';
import { commonStepNames, installPhases, runSteps, type Step } from './steps.js';

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
 * 'apps-installed' (101, or 10) or 'reboot-required' (100), or 'up-to-date' (0) when the target is installed and its
 * apps run. Every check comes before the first change; a failure leaves the running apps and the device state as
 * they were. The locks are held throughout, and the callbacks fire in aktualizr-lite's order: check-for-update,
 * download, install.
 */
export async function installFromMedium(env: DeviceEnvironment, medium: Medium, options: InstallOptions): Promise<InstallResult> {
  await requireEngineForApps(env);
  const lock = await env.lock();
  try {
    return await recordAttempt(env.files.state, 'install', env.onProgress, async (attempt) => {
      const state = withoutFinishedUpdate(await env.files.state.loadToUpdate());
      attempt.previous = targetRef(state.current);
      requireNoOtherPending(state, options);
      const { plan, inspection, upToDate, current } = await planFromMedium(env, medium, state, options, attempt);
      if (upToDate) return { outcome: 'up-to-date', target: plan.target, plan, loadedImages: [] };
      const resuming = state.pending ? `resuming the installation of ${plan.target.name} staged at ${state.pending.installedAt}` : undefined;
      env.onProgress({ type: 'info', message: `${resuming ?? `installing ${plan.target.name}`} (version ${plan.target.version}): ${describePlan(plan)}` });
      return new Installation(env, medium, state, plan, inspection, current).run();
    });
  } finally {
    await removeLeftovers(env);
    lock.release();
  }
}

async function planFromMedium(env: DeviceEnvironment, medium: Medium, state: DeviceState, options: InstallOptions, attempt: Attempt) {
  const facts = await deviceFacts(env, state);
  const { current } = facts;
  const { inspection, verdict } = await checkIn(env, medium, {
    recorded: state.current,
    current,
    bootedCommit: facts.bootedCommit,
    now: options.now ?? new Date(),
    ...(options.requestedTarget === undefined ? {} : { requestedTarget: options.requestedTarget }),
  });
  for (const warning of inspection.verified.warnings) env.onProgress({ type: 'warning', message: warning });
  const selected = inspection.selection.selected;
  if (selected?.version !== undefined) attempt.target = { name: selected.name, version: selected.version };
  if (verdict instanceof Error) throw verdict;
  const decision = await planAfterCheckIn(env, inspection.selection, state, facts, options);
  return { plan: decision.plan, inspection, upToDate: decision.kind === 'up-to-date', current };
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
    private readonly current: TargetRecord,
  ) {
    this.parts = plan.parts.map((part) => {
      const handler = handlerFor(part);
      return { handler, install: handler.install(part, { env, medium, plan }) };
    });
  }

  /** The download phase (verify, space, fetch), then the install phase (stage, commit, deploy), each between its callbacks. */
  async run(): Promise<InstallResult> {
    const steps = this.steps();
    await this.phase(steps.download, 'download-pre', 'download-post', 'OK');
    await this.phase(steps.install, 'install-pre', 'install-post', 'NEEDS_COMPLETION');
    const outcome = this.parts.some(({ handler }) => handler.needs === 'reboot') ? 'reboot-required' : 'apps-installed';
    return { outcome, target: this.plan.target, plan: this.plan, loadedImages: this.loadedImages };
  }

  /** aktualizr-lite reports a failed download or install as plain `FAILED` (liteclient.cc). */
  private async phase(steps: readonly Step[], pre: CallbackStep, post: CallbackStep, success: string): Promise<void> {
    await this.callback(pre);
    try {
      await runSteps('install', steps, this.env.onProgress);
    } catch (error) {
      if (!this.committed) for (const { install } of this.parts) await this.forget(install);
      await this.callback(post, 'FAILED');
      throw error;
    }
    await this.callback(post, success);
  }

  /** The steps of each phase in `installPhases` order, each bound to its work. */
  private steps(): { download: Step[]; install: Step[] } {
    const { verify, space, commit } = commonStepNames.install;
    const work = new Map<string, () => Promise<void>>([
      [verify, () => this.each((install) => install.verify())],
      [space, () => this.checkSpace()],
      [commit, () => this.commit()],
    ]);
    for (const { handler, install } of this.parts) {
      work.set(handler.stepNames.fetch, async () => {
        this.loadedImages.push(...(await install.fetch()).loadedImages);
      });
      work.set(handler.stepNames.stage, () => install.stage());
    }
    const bind = (names: string[]) => names.map((name) => ({ name, run: work.get(name)! }));
    const { download, install } = installPhases(this.parts.map(({ handler }) => handler));
    return { download: bind(download), install: bind(install) };
  }

  private async each(work: (install: PartInstall) => Promise<void>): Promise<void> {
    for (const { install } of this.parts) await work(install);
  }

  /** Undoing what failed must not hide why it failed: what cannot be undone now goes with the leftovers later. */
  private async forget(install: PartInstall): Promise<void> {
    await install.forget().catch((error: unknown) => {
      this.env.onProgress({ type: 'warning', message: `what the failed install fetched could not all be removed yet: ${(explainSystemError(error) as Error).message}` });
    });
  }

  private async checkSpace(): Promise<void> {
    const needs = [await deviceStateNeed(this.env, this.inspection)];
    for (const { install } of this.parts) needs.push(...(await install.spaceNeeded()));
    requireFreeSpace(needs, this.env.config.storageWatermark);
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
    const targets: CallbackTargets = { current: this.current.name, installing: this.plan.target.name };
    await this.env.callbacks.notify(step, targets, result);
  }
}
