import { access, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCallback } from '../device/callbacks.js';
import { acquireDeviceLock } from '../device/lock.js';
import type { AppRecord, DeviceState, PendingInstallation } from '../device/state.js';
import { Compose, detectCompose } from '../docker/compose.js';
import { renameDurable } from '../fs/atomic.js';
import { FioupError, NothingPendingError, RollbackFailedError } from '../errors.js';
import type { Outcome } from '../exit-codes.js';
import { planAppChanges, type AppChange } from './app-plan.js';
import { projectImages } from './app-status.js';
import { deviceFiles, type UpdateEnvironment } from './services.js';
import { runSteps } from './steps.js';

export interface RunResult {
  readonly outcome: Outcome;
  readonly target: string;
  /** Why the update was rolled back (with the failing service's last log lines). */
  readonly failure?: string;
}

/**
 * `run`: switch from the running apps to the pending target's, and roll back to the previous apps when the new
 * ones do not come up. Every step can be run again: after a crash, `run` resumes from the persisted phase.
 */
export async function runPending(env: UpdateEnvironment, options: { prune: boolean }): Promise<RunResult> {
  const files = deviceFiles(env.config);
  const lock = await acquireDeviceLock(files.state.lockPath);
  try {
    const state = await files.state.load();
    if (!state.pending) throw new NothingPendingError('no installation is pending: nothing to run (install one with `fioup-offline install`)');
    return await new Switch(env, state, state.pending, new Compose(await detectCompose(), env.engine), options.prune).run();
  } finally {
    await lock.release();
  }
}

class Switch {
  private readonly files;
  private readonly changes: readonly AppChange[];

  constructor(
    private readonly env: UpdateEnvironment,
    private state: DeviceState,
    private readonly pending: PendingInstallation,
    private readonly compose: Compose,
    private readonly prune: boolean,
  ) {
    this.files = deviceFiles(env.config);
    this.changes = pending.changes;
  }

  async run(): Promise<RunResult> {
    await this.callback('install-final-pre');
    const rootfs = this.pending.rootfs;
    if (rootfs && this.pending.phase === 'staged') {
      const boot = await this.env.rootfs.commitBootState(rootfs.commit);
      if (boot === 'pending') return { outcome: 'reboot-required', target: this.pending.target.name };
      if (boot === 'not-booted') return this.bootloaderFellBack(rootfs.commit);
    }
    if (this.pending.phase !== 'rolling-back') {
      try {
        await runSteps('run', [
          { name: 'mark', run: () => this.setPhase('switching') },
          { name: 'stop', run: () => this.stopChangedApps() },
          { name: 'switch', run: () => this.switchProjects() },
          { name: 'start', run: () => this.startApps(this.pending.target.apps) },
        ], this.env.onProgress);
      } catch (error) {
        if (!(error instanceof FioupError)) throw error;
        return this.rollBack(error.message);
      }
      await runSteps('run', [{ name: 'finish', run: () => this.finish() }], this.env.onProgress);
      await this.callback('install-post', 'OK');
      return { outcome: 'done', target: this.pending.target.name };
    }
    return this.rollBack('an earlier rollback was interrupted');
  }

  private async stopChangedApps(): Promise<void> {
    for (const change of this.changes) {
      if (change.kind === 'updated' || change.kind === 'removed' || change.kind === 'disabled') await this.stopApp(change.name);
    }
  }

  /** Per app, two renames that can each be redone: the running project to `previous`, the staged one into place. */
  private async switchProjects(): Promise<void> {
    const dirs = this.files.apps;
    for (const change of this.changes) {
      if (change.kind === 'unchanged') continue;
      if ((await exists(dirs.current(change.name))) && !(await exists(dirs.previous(change.name)))) {
        await moveDirectory(dirs.current(change.name), dirs.previous(change.name));
      }
      if (change.to && (await exists(dirs.staged(change.name)))) await moveDirectory(dirs.staged(change.name), dirs.current(change.name));
    }
  }

  /** Starts every app, then waits for each to be up (their start-up times overlap). */
  private async startApps(apps: readonly AppRecord[]): Promise<void> {
    const projects = apps.map((app) => ({ name: app.name, dir: this.files.apps.current(app.name) }));
    for (const project of projects) await this.compose.start(project);
    for (const project of projects) {
      await this.compose.waitUntilRunning(project, { timeoutMs: this.env.startTimeoutMs });
      this.env.onProgress({ type: 'step', step: `start ${project.name}`, state: 'done' });
    }
  }

  /** The target is current; what the previous target ran and this one does not is removed (images in use are kept). */
  private async finish(): Promise<void> {
    this.state = { ...this.state, current: this.pending.target, pending: undefined, failedTargets: this.state.failedTargets.filter((name) => name !== this.pending.target.name) };
    await this.files.state.save(this.state);
    if (this.prune) await this.pruneReplaced();
    await rm(this.files.apps.previousRoot, { recursive: true, force: true });
    await rm(this.files.apps.stagingRoot, { recursive: true, force: true });
  }

  private async pruneReplaced(): Promise<void> {
    const keep = new Set<string>();
    for (const app of this.pending.target.apps) for (const image of await projectImages(this.files.apps.current(app.name))) keep.add(image);
    for (const change of this.changes) {
      if (change.kind === 'unchanged' || !change.from) continue;
      for (const image of await projectImages(this.files.apps.previous(change.name))) {
        if (!keep.has(image)) await this.env.engine.removeImage(image).catch(() => undefined);
      }
    }
  }

  /**
   * Stops the new apps, puts the previous projects back and starts the previous target's apps. The phase is
   * persisted first, so an interrupted rollback is finished by the next `run`.
   */
  private async rollBack(reason: string): Promise<RunResult> {
    if (this.pending.rollbackOf) return this.giveUp(reason, 'it was itself the rollback of a failed update');
    this.env.onProgress({ type: 'warning', message: `${this.pending.target.name} failed: ${reason}; rolling back` });
    await this.setPhase('rolling-back');
    const dirs = this.files.apps;
    try {
      for (const change of this.changes) {
        if (change.kind === 'unchanged') continue;
        if (change.to) await this.stopApp(change.name);
        if (await exists(dirs.previous(change.name))) {
          await rm(dirs.current(change.name), { recursive: true, force: true });
          await moveDirectory(dirs.previous(change.name), dirs.current(change.name));
        } else if (!change.from) {
          await rm(dirs.current(change.name), { recursive: true, force: true });
        }
      }
      if (this.pending.rootfs) return await this.rollBackRootfs(this.pending.rootfs.previousCommit, reason);
      await this.startApps(this.pending.previous?.apps ?? []);
    } catch (error) {
      return this.giveUp(reason, `restoring ${this.pending.previous?.name ?? 'the previous apps'} failed too: ${(error as Error).message}`);
    }
    await this.endPending(reason);
    return { outcome: 'rolled-back', target: this.pending.target.name, failure: reason };
  }

  /**
   * The rollback cannot complete (120). The installation is closed all the same, the target marked failed, so that
   * the device is not stuck: the next `install` of a working target (or the same one with --force) can proceed.
   */
  private async giveUp(reason: string, why: string): Promise<never> {
    await this.endPending(reason);
    throw new RollbackFailedError(`${this.pending.target.name} failed (${reason.split('\n')[0]}), and ${why}`);
  }

  /**
   * Closes the pending installation as failed (the target is not offered again without --force; a rollback that
   * failed is not the previous target's fault), leaving `next` pending when there is one.
   */
  private async endPending(reason: string, next?: PendingInstallation): Promise<void> {
    const failed = this.pending.rollbackOf ? [] : [this.pending.target.name];
    this.state = { ...this.state, pending: next, failedTargets: [...new Set([...this.state.failedTargets, ...failed])] };
    await this.files.state.save(this.state);
    await rm(this.files.apps.stagingRoot, { recursive: true, force: true });
    await this.callback('install-post', `FAILED: ${reason.split('\n')[0]}`);
  }

  /**
   * The new apps failed on the new rootfs: the previous projects are back in place, so make the previous commit the
   * next boot and leave a pending installation of the previous target, which the `run` after the reboot completes.
   */
  private async rollBackRootfs(previousCommit: string, reason: string): Promise<RunResult> {
    await this.env.rootfs.deploy(previousCommit, this.env.onProgress);
    const previous = this.pending.previous;
    await this.endPending(reason, previous && {
      target: previous,
      previous,
      changes: planAppChanges(previous.apps, previous.apps, previous.apps).changes,
      phase: 'staged',
      installedAt: new Date().toISOString(),
      rootfs: { commit: previousCommit, previousCommit: this.pending.rootfs!.commit },
      rollbackOf: this.pending.target.name,
    });
    return { outcome: 'reboot-required', target: this.pending.target.name, failure: reason };
  }

  /** The device booted the previous commit again (the bootloader gave up on the new one): the previous apps stay. */
  private async bootloaderFellBack(commit: string): Promise<RunResult> {
    const reason = `the device did not boot rootfs ${commit}: the bootloader fell back to the previous one`;
    this.env.onProgress({ type: 'warning', message: `${this.pending.target.name} failed: ${reason}` });
    try {
      await this.startApps(this.pending.previous?.apps ?? []);
    } catch (error) {
      return this.giveUp(reason, `the previous apps do not start: ${(error as Error).message}`);
    }
    await this.endPending(reason);
    return { outcome: 'rolled-back', target: this.pending.target.name, failure: reason };
  }

  /** `compose down` in the app's project; when the project directory is gone, its containers are removed by label. */
  private async stopApp(app: string): Promise<void> {
    const dir = this.files.apps.current(app);
    if (await exists(join(dir, 'docker-compose.yml'))) await this.compose.down({ name: app, dir });
    else await this.env.engine.removeProjectContainers(app);
  }

  private async setPhase(phase: PendingInstallation['phase']): Promise<void> {
    if (this.state.pending?.phase === phase) return;
    this.state = { ...this.state, pending: { ...this.pending, phase } };
    await this.files.state.save(this.state);
  }

  private async callback(step: 'install-final-pre' | 'install-post', result?: string): Promise<void> {
    await runCallback(this.env.config.callbackProgram, step, {
      currentTargetPath: this.files.state.currentTargetPath,
      currentTargetName: this.state.current?.name,
      installTargetName: this.pending.target.name,
    }, result);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function moveDirectory(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await mkdir(dirname(to), { recursive: true });
  await renameDurable(from, to);
}
