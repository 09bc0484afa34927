import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppStore } from '../apps/app-store.js';
import type { AppTree } from '../apps/app-tree.js';
import { runCallback, type CallbackContext } from '../device/callbacks.js';
import { acquireDeviceLock } from '../device/lock.js';
import type { AppRecord, DeviceState, TargetRecord } from '../device/state.js';
import { composeOverrideYaml, COMPOSE_OVERRIDE_FILE } from '../docker/compose-override.js';
import { localImageTag } from '../docker/image-ref.js';
import { loadImage } from '../docker/image-load.js';
import { ContentMissingError, DowngradeRefusedError, InstallationPendingError } from '../errors.js';
import { extractAppArchive } from '../apps/app-archive-extract.js';
import type { Outcome } from '../exit-codes.js';
import type { Medium } from '../medium/medium.js';
import { parseAppUri } from '../targets/app-uri.js';
import { requiredApps } from '../targets/selection.js';
import type { Target } from '../targets/target.js';
import { describeMissingContent, requireTargetForDevice } from '../targets/verdict.js';
import { appsToInstall, planAppChanges, type AppPlan } from './app-plan.js';
import { APP_RECORD_FILE, appsRunning } from './app-status.js';
import { requireFreeSpace, type SpaceNeed } from './free-space.js';
import { inspectMedium, type MediumInspection } from './inspect-medium.js';
import { deviceFiles, type UpdateEnvironment } from './services.js';
import { runSteps } from './steps.js';

export interface InstallOptions {
  readonly requestedTarget?: string;
  readonly force: boolean;
  readonly now?: Date;
}

export interface InstallResult {
  readonly outcome: Outcome;
  readonly target: TargetRecord;
  readonly plan: AppPlan;
  /** Images sent to Docker in this run (images Docker already had are only tagged). */
  readonly loadedImages: string[];
}

/**
 * `install`: verify the medium, choose the target, verify its apps, load their images into Docker and stage
 * their compose projects, without touching what runs. Ends with the pending installation persisted and
 * 'restart-docker' (101), or 'up-to-date' (0) when the target is installed and its apps run.
 * Every check comes before the first change; a failure leaves the running apps and the device state as they were.
 */
export async function installFromMedium(env: UpdateEnvironment, medium: Medium, options: InstallOptions): Promise<InstallResult> {
  const files = deviceFiles(env.config);
  const lock = await acquireDeviceLock(files.state.lockPath);
  try {
    return await new Installation(env, medium, options).run();
  } finally {
    await lock.release();
  }
}

class Installation {
  private readonly files;
  private readonly appStore: AppStore;
  private state!: DeviceState;
  private inspection!: MediumInspection;
  private target!: Target;
  private record!: TargetRecord;
  private plan!: AppPlan;
  private trees: AppTree[] = [];
  /** On OSTree devices: the booted commit, and the commit to deploy when the target's differs. */
  private bootedCommit: string | undefined;
  private rootfsCommit: string | undefined;
  private readonly loadedImages: string[] = [];
  private committed = false;

  constructor(private readonly env: UpdateEnvironment, private readonly medium: Medium, private readonly options: InstallOptions) {
    this.files = deviceFiles(env.config);
    this.appStore = new AppStore(medium);
  }

  async run(): Promise<InstallResult> {
    await this.check();
    const nothingToDo = this.record.name === this.state.current?.name && !this.rootfsCommit && this.plan.changes.every((change) => change.kind === 'unchanged');
    if (nothingToDo) {
      return { outcome: 'up-to-date', target: this.record, plan: this.plan, loadedImages: [] };
    }
    await this.callback('install-pre');
    try {
      await runSteps('install', [
        { name: 'verify', run: () => this.verify() },
        { name: 'space', run: () => this.checkSpace() },
        { name: 'pull-rootfs', run: () => this.pullRootfs() },
        { name: 'load', run: () => this.load() },
        { name: 'stage', run: () => this.stage() },
        { name: 'commit', run: () => this.commit() },
        { name: 'deploy-rootfs', run: () => this.deployRootfs() },
      ], this.env.onProgress);
    } catch (error) {
      if (!this.committed) await this.forgetLoadedImages();
      await this.callback('install-post', `FAILED: ${(error as Error).message.split('\n')[0]}`);
      throw error;
    }
    await this.callback('install-post', 'NEEDS_COMPLETION');
    const outcome = this.rootfsCommit ? 'reboot-required' : 'restart-docker';
    return { outcome, target: this.record, plan: this.plan, loadedImages: this.loadedImages };
  }

  /** Same verification and selection as `check`, then the install rules: pending, downgrade, failed before, content. */
  private async check(): Promise<void> {
    this.state = await this.files.state.load();
    const pending = this.state.pending;
    if (pending && (pending.phase !== 'staged' || (this.options.requestedTarget !== undefined && this.options.requestedTarget !== pending.target.name))) {
      throw new InstallationPendingError(`target ${pending.target.name} is installed and waits for 'fioup-offline run'; run it first`);
    }
    this.bootedCommit = await this.env.rootfs.bootedCommitIfOstree();
    this.inspection = await inspectMedium(this.env.config, this.medium, {
      current: this.state.current,
      bootedCommit: this.bootedCommit,
      now: this.options.now ?? new Date(),
      ...(this.options.requestedTarget === undefined ? {} : { requestedTarget: this.options.requestedTarget }),
    });
    for (const warning of this.inspection.verified.warnings) this.env.onProgress({ type: 'warning', message: warning });
    const { row: selected, target: selectedTarget } = requireTargetForDevice(this.inspection.selection);
    if (selected.relation === 'older' && !this.options.force) {
      throw new DowngradeRefusedError(`target ${selected.name} (version ${selected.version}) is older than the current ${this.state.current?.name} (version ${this.state.current?.version}): use --force to downgrade`);
    }
    if (this.state.failedTargets.includes(selected.name) && !this.options.force) {
      throw new DowngradeRefusedError(`target ${selected.name} failed to start before and was rolled back: use --force to try it again`);
    }
    if (!selected.contentPresent) throw new ContentMissingError(describeMissingContent(selected));

    if (pending && pending.target.name !== selected.name) {
      throw new InstallationPendingError(`target ${pending.target.name} is installed and waits for 'fioup-offline run'; run it first`);
    }
    this.target = selectedTarget;
    this.rootfsCommit = selected.rootfsCommit;
    const enabled = requiredApps(selectedTarget, this.inspection.device.composeApps).map(appRecord);
    this.record = { name: selectedTarget.name, version: selectedTarget.version, sha256: selectedTarget.sha256 ?? '', apps: enabled };
    this.plan = pending ? { changes: pending.changes } : planAppChanges(this.state.current?.apps ?? [], selectedTarget.apps.map(appRecord), enabled);
    if (selected.relation === 'same' && !pending) this.plan = await this.resyncStoppedApps(this.plan);
    this.env.onProgress({ type: 'info', message: `installing ${selected.name} (version ${selected.version}): ${describePlan(this.plan)}` });
  }

  /** Installing the current target again ("apps need sync"): its apps that do not run are installed again. */
  private async resyncStoppedApps(plan: AppPlan): Promise<AppPlan> {
    const changes = [];
    for (const change of plan.changes) {
      const stopped = change.kind === 'unchanged' && !(await appsRunning(this.env.engine, [change.to!]));
      changes.push(stopped ? { ...change, kind: 'updated' as const } : change);
    }
    return { changes };
  }

  /** The hash chain of every app to install, down to the image manifests; configs and layers are hashed while they load. */
  private async verify(): Promise<void> {
    this.trees = [];
    for (const app of appsToInstall(this.plan)) {
      this.trees.push(await this.appStore.readTree(parseAppUri(app.uri, `target ${this.target.name}`), this.env.platform));
    }
  }

  private async checkSpace(): Promise<void> {
    const missingImages = [];
    for (const tree of this.trees) {
      for (const image of tree.images) if (!(await this.env.engine.hasImage(image.config.digest))) missingImages.push({ tree, image });
    }
    let dockerBytes = 0;
    for (const { tree, image } of missingImages) {
      for (const layer of image.layers) {
        // Docker keeps the tar it receives while it extracts it: the compressed size, plus the extracted size
        // from layers-meta (or an estimate of three times the compressed size where the app has none).
        dockerBytes += layer.size + (tree.layersMeta?.layers.get(layer.digest)?.usage ?? 3 * layer.size);
      }
    }
    const needs: SpaceNeed[] = [{ path: this.files.apps.stagingRoot, bytes: this.trees.reduce((sum, tree) => sum + 4 * tree.archive.blob.size, 0), what: 'compose projects' }];
    const dockerRoot = await this.env.engine.rootDir();
    if (dockerRoot && dockerBytes > 0) needs.push({ path: dockerRoot, bytes: dockerBytes, what: 'container images' });
    await requireFreeSpace(needs, this.env.config.storageWatermark);
  }

  /** The rootfs commit goes into the sysroot's repo and is checked against the target's hash before Docker is touched. */
  private async pullRootfs(): Promise<void> {
    if (this.rootfsCommit) await this.env.rootfs.pull(this.medium, this.rootfsCommit);
  }

  private async deployRootfs(): Promise<void> {
    if (this.rootfsCommit) await this.env.rootfs.deploy(this.rootfsCommit, this.env.onProgress);
  }

  /** Images stream from the medium into Docker, hashed on the way. On failure, what this run loaded is removed again. */
  private async load(): Promise<void> {
    await this.callback('download-pre');
    try {
      for (const tree of this.trees) {
        for (const image of tree.images) {
          const result = await loadImage(
            this.env.engine,
            { tag: localImageTag(image.reference), manifest: image.manifest, config: image.config, layers: image.layers },
            this.appStore.blobs,
            { onProgress: this.env.onProgress },
          );
          if (result.loaded) this.loadedImages.push(result.imageId);
        }
      }
    } catch (error) {
      await this.forgetLoadedImages();
      await this.callback('download-post', `FAILED: ${(error as Error).message.split('\n')[0]}`);
      throw error;
    }
    await this.callback('download-post', 'OK');
  }

  /** A failed install leaves Docker as it found it: the images this run loaded go again. */
  private async forgetLoadedImages(): Promise<void> {
    for (const imageId of this.loadedImages.splice(0)) await this.env.engine.removeImage(imageId, { force: true });
  }

  /** Compose projects go to the staging area, each with the override that points its services at the loaded images. */
  private async stage(): Promise<void> {
    await rm(this.files.apps.stagingRoot, { recursive: true, force: true });
    await rm(this.files.apps.previousRoot, { recursive: true, force: true });
    for (const tree of this.trees) {
      const directory = this.files.apps.staged(tree.app.name);
      await extractAppArchive(this.appStore.blobs, tree.archive, directory);
      const pins = Object.fromEntries(tree.services.map((service) => [service.name, service.image]));
      const overridePath = join(directory, COMPOSE_OVERRIDE_FILE);
      const appOverride = await readFile(overridePath, 'utf8').catch(() => undefined);
      await writeFile(overridePath, composeOverrideYaml(pins, appOverride));
      await writeFile(join(directory, APP_RECORD_FILE), `${JSON.stringify({ name: tree.app.name, uri: tree.app.uri })}\n`);
    }
  }

  /**
   * The newly trusted metadata, then the pending installation: from here on, `run` owns the update. It comes
   * before the rootfs deploy, so that a new rootfs never becomes the next boot without a record of it.
   */
  private async commit(): Promise<void> {
    await this.inspection.trustStore.persist(this.inspection.verified);
    await this.files.state.save({
      ...this.state,
      pending: {
        target: this.record,
        previous: this.state.pending?.previous ?? this.state.current,
        changes: this.plan.changes,
        phase: 'staged',
        installedAt: new Date().toISOString(),
        ...(this.rootfsCommit && this.bootedCommit ? { rootfs: { commit: this.rootfsCommit, previousCommit: this.bootedCommit } } : {}),
      },
    });
    this.committed = true;
  }

  private async callback(step: 'install-pre' | 'install-post' | 'download-pre' | 'download-post', result?: string): Promise<void> {
    const context: CallbackContext = {
      currentTargetPath: this.files.state.currentTargetPath,
      currentTargetName: this.state.current?.name,
      installTargetName: this.record?.name,
    };
    await runCallback(this.env.config.callbackProgram, step, context, result);
  }
}

function appRecord(app: { name: string; uri: string }): AppRecord {
  return { name: app.name, uri: app.uri };
}

function describePlan(plan: AppPlan): string {
  const parts = plan.changes.filter((change) => change.kind !== 'unchanged').map((change) => `${change.name} ${change.kind}`);
  return parts.length ? parts.join(', ') : 'no app changes';
}
