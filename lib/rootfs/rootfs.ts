import { join } from 'node:path';
import type { DeviceConfig, RootfsConfig } from '../config/device-config.js';
import { ContentMissingError } from '../errors.js';
import { OSTREE_REPO_DIRECTORY } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { bootedDeployment, ostreeArgument, readKernelCmdline } from './booted-deployment.js';
import { listDeployments, type Deployment } from './deployments.js';
import { ostree } from './ostree-cli.js';
import { mediumHasCommit, pullFromMedium } from './pull.js';
import { RebootSentinel } from './reboot-sentinel.js';

export type { Deployment } from './deployments.js';

/** What `deploy` did: a commit already the default deployment is not deployed twice. */
export type DeployResult = 'deployed' | 'already-deployed';

/** Where a staged commit stands after a possible reboot. */
export type CommitBootState =
  /** The device runs it. */
  | 'booted'
  /** It is the default deployment but the device still runs another one: reboot. */
  | 'pending'
  /** Neither booted nor the default deployment: the bootloader fell back, or it was never deployed. */
  | 'not-booted';

/**
 * The OSTree rootfs of the device: which commit it booted, which deployment boots next, and staging a target's
 * commit from the medium (pull, verify, deploy). Every `ostree` call runs against the configured sysroot.
 */
export class Rootfs {
  constructor(private readonly config: RootfsConfig, readonly rebootSentinel: RebootSentinel) {}

  static fromConfig(config: Pick<DeviceConfig, 'rootfs' | 'bootloader'>, sentinel = new RebootSentinel(config.bootloader.rebootSentinel)): Rootfs {
    return new Rootfs(config.rootfs, sentinel);
  }

  /** The directory of the deployment of `commit` (the newest one), where its tree is checked out. */
  async deploymentDirectory(commit: string): Promise<string | undefined> {
    const deployment = (await this.deployments()).find((candidate) => candidate.commit === commit);
    return deployment && join(this.config.sysroot, 'ostree', 'deploy', deployment.os, 'deploy', `${deployment.commit}.${deployment.serial}`);
  }

  /** The sysroot's object repo, where commits are pulled to. */
  get repo(): string {
    return join(this.config.sysroot, 'ostree', 'repo');
  }

  /** Whether rootfs updates apply: as configured, or (`auto`) when the kernel booted an OSTree deployment. */
  async isOstreeDevice(): Promise<boolean> {
    if (this.config.ostree !== 'auto') return this.config.ostree;
    const cmdline = await readKernelCmdline(this.config.kernelCmdline);
    return cmdline !== undefined && ostreeArgument(cmdline) !== undefined;
  }

  async bootedCommit(): Promise<string> {
    return (await bootedDeployment(this.config.sysroot, this.config.kernelCmdline)).commit;
  }

  /** The booted commit on an OSTree device; undefined on other devices, which ignore targets' rootfs. */
  async bootedCommitIfOstree(): Promise<string | undefined> {
    return (await this.isOstreeDevice()) ? this.bootedCommit() : undefined;
  }

  /** Every deployment of the sysroot in boot order: the first is the one the bootloader starts next. */
  deployments(): Promise<Deployment[]> {
    return listDeployments(this.config.sysroot);
  }

  /** The commit of the default deployment when the device has not booted it (a reboot would switch to it). */
  async pendingCommit(): Promise<string | undefined> {
    const [next] = await this.deployments();
    if (!next) return undefined;
    return next.commit === (await this.bootedCommit()) ? undefined : next.commit;
  }

  /**
   * Whether the device runs `commit`, still waits for the reboot into it, or rebooted and did not boot it (the
   * bootloader fell back). A deploy writes the reboot sentinel, which the reboot removes (it lives on a tmpfs): the
   * deployment list alone cannot tell, since a bootloader fallback leaves it as it was. Pending means the sentinel is
   * there and `commit` is the deployment that boots next.
   */
  async commitBootState(commit: string): Promise<CommitBootState> {
    if ((await this.bootedCommit()) === commit) return 'booted';
    if (!(await this.rebootSentinel.present())) return 'not-booted';
    const [next] = await this.deployments();
    return next?.commit === commit ? 'pending' : 'not-booted';
  }

  /**
   * Pulls the commit from the medium into the sysroot's repo and checks the pulled commit hashes to `commit`.
   * ContentMissingError when the medium lacks it, ContentVerificationError when what it holds is not that commit.
   */
  async pull(medium: Medium, commit: string): Promise<void> {
    if (!(await mediumHasCommit(medium, commit))) {
      throw new ContentMissingError(`rootfs commit ${commit} is not in the ${OSTREE_REPO_DIRECTORY} of ${medium.description}`);
    }
    await pullFromMedium(this.repo, medium, commit);
  }

  /**
   * Makes the commit the next boot: pull and verify it, then deploy it. Safe to repeat after a crash: pulls are
   * transactional and a commit that is already the default deployment is not deployed again.
   */
  async stage(medium: Medium, commit: string, onProgress: ProgressListener = ignoreProgress): Promise<DeployResult> {
    onProgress({ type: 'step', step: 'pull rootfs', state: 'start', detail: commit });
    await this.pull(medium, commit);
    onProgress({ type: 'step', step: 'pull rootfs', state: 'done', detail: commit });
    return this.deploy(commit, onProgress);
  }

  /**
   * Makes a commit already in the sysroot's repo the next boot: one just pulled, or for a rollback the one booted
   * before the update. Deploying the default deployment's commit again does nothing, so this is safe to repeat.
   */
  async deploy(commit: string, onProgress: ProgressListener = ignoreProgress): Promise<DeployResult> {
    const [next] = await this.deployments();
    let result: DeployResult = 'already-deployed';
    if (next?.commit === commit && next.os === this.config.os) {
      onProgress({ type: 'step', step: 'deploy rootfs', state: 'skipped', detail: `${commit} is already the default deployment` });
    } else {
      onProgress({ type: 'step', step: 'deploy rootfs', state: 'start', detail: commit });
      await ostree(['admin', 'deploy', `--sysroot=${this.config.sysroot}`, `--os=${this.config.os}`, commit]);
      onProgress({ type: 'step', step: 'deploy rootfs', state: 'done', detail: commit });
      result = 'deployed';
    }
    await this.rebootSentinel.set();
    return result;
  }
}
