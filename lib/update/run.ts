import type { CallbackStep } from '../device/callbacks.js';
import type { DeviceEnvironment } from '../device/environment.js';
import { recordAttempt, targetRef } from '../device/history.js';
import type { DeviceState } from '../device/state.js';
import { FioupError, NothingPendingError, RollbackFailedError, RollbackPendingError } from '../errors.js';
import type { Outcome } from '../exit-codes.js';
import { handlerFor } from './handlers/index.js';
import { removeLeftovers } from './leftovers.js';
import type { PartRun, PayloadHandler } from './payload.js';
import { partOf, planRootfsRollback, type PendingInstallation, type PendingPhase } from './plan.js';
import { commonStepNames, runSteps } from './steps.js';

export interface RunResult {
  readonly outcome: Outcome;
  readonly target: string;
  /** Why the update was rolled back (with the failing service's last log lines). */
  readonly failure?: string;
}

/**
 * `run`: switch each part of the pending plan to its new payload, and roll every part back when the new apps do not
 * come up. Every step can be run again: after a crash, `run` resumes from the persisted phase.
 */
export async function runPending(env: DeviceEnvironment): Promise<RunResult> {
  const lock = await env.lock();
  try {
    const state = await env.files.state.loadToUpdate();
    const pending = state.pending;
    if (!pending) throw new NothingPendingError('no installation is pending: nothing to run (install one with `fioup-offline install`)');
    if (partOf(pending, 'apps')) await env.engine.requireRunning();
    const attempt = { target: targetRef(pending.target), previous: targetRef(state.current) };
    return await recordAttempt(env.files.state, 'run', env.onProgress, () => new Switch(env, state, pending).run(), attempt);
  } finally {
    await removeLeftovers(env);
    lock.release();
  }
}

interface PartSwitch {
  readonly handler: PayloadHandler;
  readonly run: PartRun;
}

class Switch {
  private readonly parts: readonly PartSwitch[];

  constructor(private readonly env: DeviceEnvironment, private state: DeviceState, private readonly pending: PendingInstallation) {
    this.parts = pending.parts.map((part) => {
      const handler = handlerFor(part);
      return { handler, run: handler.run(part, { env, pending }) };
    });
  }

  async run(): Promise<RunResult> {
    if (this.pending.phase === 'switching') this.env.onProgress({ type: 'info', message: `resuming the switch to ${this.pending.target.name}, which was interrupted` });
    await this.callback('install-final-pre');
    if (this.pending.phase === 'staged') {
      for (const { run } of this.parts) {
        const activation = await run.activationState();
        if (activation === 'awaiting-reboot') return { outcome: 'reboot-required', target: this.pending.target.name };
        if (activation === 'fell-back') return this.bootloaderFellBack();
      }
    }
    if (this.pending.phase === 'rolling-back') {
      const reason = 'its rollback was interrupted';
      await this.pendingIfNotReady(reason);
      return this.rollBack(reason);
    }
    if (this.pending.phase !== 'finishing') {
      await this.requireReady();
      try {
        await runSteps('run', [
          { name: commonStepNames.run.mark, run: () => this.setPhase('switching') },
          ...this.parts.flatMap(({ run }) => run.switchSteps),
        ], this.env.onProgress);
      } catch (error) {
        if (!(error instanceof FioupError)) throw error;
        return this.rollBack(error.message);
      }
    }
    await runSteps('run', [
      { name: commonStepNames.run.finish, run: () => this.finish() },
      { name: commonStepNames.run.clean, run: () => this.clean() },
    ], this.env.onProgress);
    await this.callback('install-post', 'OK');
    // aklite's CompleteInstallation: a boot firmware update still to confirm (bootupgrade_available) asks for one more reboot.
    const bootFirmwarePending = await this.env.bootloader.bootFirmwareUpdatePending();
    return { outcome: bootFirmwarePending ? 'done-boot-firmware-reboot' : 'done', target: this.pending.target.name };
  }

  /**
   * The target becomes current; the installation stays open (phase `finishing`) until `clean` is done, so that the
   * next `run` completes a clean-up a crash interrupted.
   */
  private async finish(): Promise<void> {
    const failedTargets = this.state.failedTargets.filter((name) => name !== this.pending.target.name);
    this.state = { ...this.state, current: this.pending.target, pending: { ...this.pending, phase: 'finishing' }, failedTargets };
    await this.env.files.state.save(this.state);
  }

  /** Each part removes what only the previous payload used, then the installation is closed. */
  private async clean(): Promise<void> {
    for (const { run } of this.parts) await run.finish();
    this.state = { ...this.state, pending: undefined };
    await this.env.files.state.save(this.state);
  }

  /** Every part's steps can work (dockerd answers...); when one cannot, nothing starts and the installation stays as it is. */
  private async requireReady(): Promise<void> {
    for (const { run } of this.parts) await run.requireReady();
  }

  /**
   * After a rollback failed: when a part cannot work now (dockerd stopped answering), the rollback stays pending
   * (its phase was persisted) for the next `run` to complete.
   */
  private async pendingIfNotReady(reason: string): Promise<void> {
    try {
      await this.requireReady();
    } catch (error) {
      const previous = this.pending.previous?.name ?? 'the previous apps';
      throw new RollbackPendingError(`${this.pending.target.name} failed (${reason.split('\n')[0]}), and restoring ${previous} could not finish: ` +
        `${(error as Error).message}; the rollback stays pending, and 'fioup-offline run' completes it (fioup-offline-finish.service at boot)`, { cause: error });
    }
  }

  /**
   * Every part puts its previous payload back, the last switched first. The phase is persisted first, so an
   * interrupted rollback is finished by the next `run`. When the previous rootfs has to boot again, the previous
   * target is left pending for the `run` after that reboot. The callbacks report it as aktualizr-lite does: the
   * failed target's `install-post` FAILED, then an install of the previous target (cli.cc CompleteInstall).
   */
  private async rollBack(reason: string): Promise<RunResult> {
    if (this.pending.rollbackOf) return this.giveUp(reason, 'it was itself the rollback of a failed update');
    this.env.onProgress({ type: 'warning', message: `${this.pending.target.name} failed: ${reason}; rolling back` });
    await this.setPhase('rolling-back');
    await this.callback('install-post', 'FAILED');
    const previous = this.pending.previous?.name;
    await this.callback('install-pre', undefined, previous);
    const rebootFollows = this.parts.some(({ handler }) => handler.needs === 'reboot');
    try {
      for (const { run } of [...this.parts].reverse()) await run.rollBack({ switched: true, rebootFollows });
    } catch (error) {
      await this.pendingIfNotReady(reason);
      await this.callback('install-post', 'FAILED', previous);
      return this.giveUp(reason, `restoring ${previous ?? 'the previous apps'} failed too: ${(error as Error).message}`, { notified: true });
    }
    if (rebootFollows) {
      const rollbackPlan = planRootfsRollback(this.pending);
      await this.endPending(rollbackPlan && { ...rollbackPlan, phase: 'staged', installedAt: new Date().toISOString(), rollbackOf: this.pending.target.name });
      await this.callback('install-post', 'NEEDS_COMPLETION', previous);
      return { outcome: 'reboot-required', target: this.pending.target.name, failure: reason };
    }
    await this.endPending();
    await this.callback('install-post', 'OK', previous);
    return { outcome: 'rolled-back', target: this.pending.target.name, failure: reason };
  }

  /** The device booted the previous commit again (the bootloader gave up on the new one): the previous apps stay. */
  private async bootloaderFellBack(): Promise<RunResult> {
    const commit = partOf(this.pending, 'rootfs')?.commit;
    const reason = `the device did not boot rootfs ${commit}: the bootloader fell back to the previous one`;
    this.env.onProgress({ type: 'warning', message: `${this.pending.target.name} failed: ${reason}` });
    await this.callback('install-post', 'FAILED');
    try {
      for (const { run } of [...this.parts].reverse()) await run.rollBack({ switched: false, rebootFollows: false });
    } catch (error) {
      await this.pendingIfNotReady(reason);
      return this.giveUp(reason, `the previous apps do not start: ${(error as Error).message}`, { notified: true });
    }
    await this.endPending();
    return { outcome: 'rolled-back', target: this.pending.target.name, failure: reason };
  }

  /**
   * The rollback cannot complete (120). The installation is closed all the same, the target marked failed, so that
   * the device is not stuck: the next `install` of a working target (or the same one with --force) can proceed.
   */
  private async giveUp(reason: string, why: string, options: { notified: boolean } = { notified: false }): Promise<never> {
    await this.endPending();
    if (!options.notified) await this.callback('install-post', 'FAILED');
    const previous = this.pending.previous?.name ?? 'the previous target';
    throw new RollbackFailedError(`${this.pending.target.name} failed (${reason.split('\n')[0]}), and ${why}; ` +
      `the installation is closed with the projects of ${previous} in place, not running: find out why from the log lines above, ` +
      `then install a target that works with 'fioup-offline install' (--force to install ${previous} again)`);
  }

  /**
   * Closes the pending installation as failed (the target is not offered again without --force; a rollback that
   * failed is not the previous target's fault), leaving `next` pending when there is one.
   */
  private async endPending(next?: PendingInstallation): Promise<void> {
    const failed = this.pending.rollbackOf ? [] : [this.pending.target.name];
    this.state = { ...this.state, pending: next, failedTargets: [...new Set([...this.state.failedTargets, ...failed])] };
    await this.env.files.state.save(this.state);
    for (const { run } of this.parts) await run.forget();
  }

  private async setPhase(phase: PendingPhase): Promise<void> {
    if (this.state.pending?.phase === phase) return;
    this.state = { ...this.state, pending: { ...this.pending, phase } };
    await this.env.files.state.save(this.state);
  }

  /** The device's current target is the recorded one, else the initial target the update started from. */
  private async callback(step: CallbackStep, result?: string, installing = this.pending.target.name): Promise<void> {
    const current = this.state.current?.name ?? this.pending.previous?.name;
    await this.env.callbacks.notify(step, { current, installing }, result);
  }
}
