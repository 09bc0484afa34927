import { verifyMediumCommit } from '../../rootfs/pull.js';
import type { ActivationState, ContentCheck, InstallContext, PartInstall, PartRun, PayloadHandler, RollbackOptions, RunContext } from '../payload.js';
import type { RootfsPart } from '../plan.js';

/** The rootfs handler's steps: `pull-rootfs` into the sysroot's repo, `deploy-rootfs` once the installation is recorded. */
export const rootfsStepNames = { fetch: 'pull-rootfs', stage: 'deploy-rootfs', stageAfterCommit: true, switch: [] } as const;

/**
 * The OSTree rootfs of LmP devices. Install pulls the target's commit from the medium into the sysroot's repo
 * (every object checked, the commit hashed against the target) and, once the installation is recorded, deploys it
 * as the next boot. Run finds out whether the device booted it, still waits for the reboot, or fell back.
 */
export const rootfsHandler: PayloadHandler<RootfsPart> = {
  kind: 'rootfs', needs: 'reboot', stepNames: rootfsStepNames,
  install: (part, context) => new RootfsInstall(part, context),
  run: (part, context) => new RootfsRun(part, context),
};

class RootfsInstall implements PartInstall {
  constructor(private readonly part: RootfsPart, private readonly context: InstallContext) {}

  /** The commit's presence was a condition of the target's selection; its objects are verified as they are pulled. */
  async verify(): Promise<void> {}

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
    await this.context.env.rootfs.deploy(this.part.commit, this.context.env.onProgress);
  }

  /** A pulled commit that nothing deploys is only objects in the repo; ostree prunes them with the next cleanup. */
  async forget(): Promise<void> {}
}

class RootfsRun implements PartRun {
  readonly switchSteps = [];

  constructor(private readonly part: RootfsPart, private readonly context: RunContext) {}

  async activationState(): Promise<ActivationState> {
    switch (await this.context.env.rootfs.commitBootState(this.part.commit)) {
      case 'booted': return 'ready';
      case 'pending': return 'awaiting-reboot';
      case 'not-booted': return 'fell-back';
    }
  }

  /** The sysroot is local: nothing to wait for. */
  async requireReady(): Promise<void> {}

  /** Once the new apps failed on the new rootfs, the previous commit becomes the next boot again. */
  async rollBack(options: RollbackOptions): Promise<void> {
    if (options.switched) await this.context.env.rootfs.deploy(this.part.previousCommit, this.context.env.onProgress);
  }

  async finish(): Promise<void> {}

  /** A deployment the device fell back from is left for ostree to clean up with the next deployment. */
  async forget(): Promise<void> {}
}
