import { BootFirmwareUpdatePendingError, BootloaderError } from '../../errors.js';
import { verifyMediumCommit } from '../../rootfs/pull.js';
import type { ActivationState, ContentCheck, InstallContext, PartInstall, PartRun, PayloadHandler, RollbackOptions, RunContext } from '../payload.js';
import type { RootfsPart } from '../plan.js';
import type { DeviceEnvironment } from '../../device/environment.js';

/** The rootfs handler's steps: `pull-rootfs` into the sysroot's repo, `deploy-rootfs` once the installation is recorded. */
export const rootfsStepNames = { fetch: 'pull-rootfs', stage: 'deploy-rootfs', stageAfterCommit: true, switch: [] } as const;

/**
 * The OSTree rootfs of LmP devices. Install pulls the target's commit from the medium into the sysroot's repo
 * (every object checked, the commit hashed against the target) and, once the installation is recorded, deploys it
 * as the next boot and tells the bootloader (`[bootloader] rollback_mode`), so that a rootfs that does not boot is
 * rolled back. Run finds out whether the device booted it (then tells the bootloader the boot was good), still
 * waits for the reboot, or fell back.
 */
export const rootfsHandler: PayloadHandler<RootfsPart> = {
  kind: 'rootfs', needs: 'reboot', stepNames: rootfsStepNames,
  install: (part, context) => new RootfsInstall(part, context),
  run: (part, context) => new RootfsRun(part, context),
};

class RootfsInstall implements PartInstall {
  constructor(private readonly part: RootfsPart, private readonly context: InstallContext) {}

  /**
   * The commit's presence was a condition of the target's selection; its objects are verified as they are pulled.
   * A boot firmware update that awaits its confirming reboot blocks a new rootfs (aklite's InstallNeedsRebootForBootFw).
   */
  async verify(): Promise<void> {
    const { bootloader, config } = this.context.env;
    if (config.bootloader.blockWhileBootFirmwarePending && (await bootloader.bootFirmwareUpdatePending())) {
      throw new BootFirmwareUpdatePendingError('a boot firmware update awaits its confirming reboot (bootupgrade_available=1): ' +
        'reboot the device, then run install again; nothing was changed');
    }
  }

  /** Deltas between commits cannot be known before the pull; ostree keeps its own free-space reserve. */
  async spaceNeeded(): Promise<[]> {
    return [];
  }

  /**
   * The commit object on the medium, hashed against the target's commit hash. The files it names are checked by
   * ostree as it pulls them: hashing them here would take a pull into a repository, which a dry run does not make.
   */
  async verifyContent(): Promise<ContentCheck> {
    return { blobs: 1, bytes: await verifyMediumCommit(this.context.medium, this.part.commit) };
  }

  async fetch(): Promise<{ loadedImages: readonly string[] }> {
    await this.context.env.rootfs.pull(this.context.medium, this.part.commit);
    return { loadedImages: [] };
  }

  async stage(): Promise<void> {
    await deployAndNotify(this.context.env, this.part.commit);
  }

  /** A pulled commit that nothing deploys is only objects in the repo; ostree prunes them with the next cleanup. */
  async forget(): Promise<void> {}
}

class RootfsRun implements PartRun {
  readonly switchSteps = [];

  constructor(private readonly part: RootfsPart, private readonly context: RunContext) {}

  /** Once the reboot is over, the bootloader hears that the new rootfs booted (or finds it fell back) and the reboot flag goes. */
  async activationState(): Promise<ActivationState> {
    const { rootfs, bootloader } = this.context.env;
    const state = await rootfs.commitBootState(this.part.commit);
    if (state === 'pending') return 'awaiting-reboot';
    if (state === 'booted') await bootloader.setBootOk().catch((error: BootloaderError) => {
      throw new BootloaderError(`rootfs ${this.part.commit} booted, but the bootloader could not be told (${error.message}): ` +
        'it would fall back to the previous rootfs at a later reboot; fix the bootloader environment, then run again', { cause: error });
    });
    await rootfs.rebootSentinel.clear();
    return state === 'booted' ? 'ready' : 'fell-back';
  }

  /** The sysroot is local: nothing to wait for. */
  async requireReady(): Promise<void> {}

  /** Once the new apps failed on the new rootfs, the previous commit becomes the next boot again, with the bootloader told. */
  async rollBack(options: RollbackOptions): Promise<void> {
    if (options.switched) await deployAndNotify(this.context.env, this.part.previousCommit);
  }

  async finish(): Promise<void> {}

  /** A deployment the device fell back from is left for ostree to clean up with the next deployment. */
  async forget(): Promise<void> {}
}

/**
 * Makes `commit` the next boot and prepares the bootloader's fallback, as aktualizr-lite's RootfsTreeManager::install
 * does (updateNotify, then installNotify for the boot firmware), but after the deploy: no variable arms a fallback
 * for a deployment that failed. A failing command ends the install before it answers 100 (reboot).
 */
async function deployAndNotify(env: DeviceEnvironment, commit: string): Promise<void> {
  await env.rootfs.deploy(commit, env.onProgress);
  try {
    await env.bootloader.updateNotify();
    const directory = await env.rootfs.deploymentDirectory(commit);
    if (directory) await env.bootloader.installNotify(directory);
  } catch (error) {
    if (!(error instanceof BootloaderError)) throw error;
    throw new BootloaderError(`rootfs ${commit} is deployed, but the bootloader (rollback_mode ${env.bootloader.mode}) could not be prepared to fall back ` +
      `from it: ${error.message}. Do not reboot yet: fix the bootloader environment, then run the same command again`, { cause: error });
  }
}
