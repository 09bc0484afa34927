import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { extractAppArchive } from '../../apps/app-archive-extract.js';
import { COMPOSE_FILE_NAME } from '../../apps/compose-file.js';
import { AppStore } from '../../apps/app-store.js';
import { appBlobs, type AppBlob, type AppTree, type ImageTree } from '../../apps/app-tree.js';
import type { AppRecord } from '../../device/state.js';
import { composeOverrideYaml, COMPOSE_OVERRIDE_FILE } from '../../docker/compose-override.js';
import { ImagesProgress, loadImagesConcurrently } from '../../docker/load-images.js';
import { localImageTag } from '../../docker/image-ref.js';
import { formatBytes } from '../../format.js';
import { renameDurable } from '../../fs/atomic.js';
import { parseAppUri } from '../../targets/app-uri.js';
import { projectImages } from '../app-status.js';
import type { SpaceNeed } from '../free-space.js';
import type { ContentCheck, InstallContext, PartInstall, PartRun, PayloadHandler, RollbackOptions, RunContext } from '../payload.js';
import { appsToInstall, type AppChange, type AppsPart } from '../plan.js';

/** The app handler's steps: `load` images, `stage` projects; at run, `stop` what changes, `switch` projects, `start`. */
export const appStepNames = { fetch: 'load', stage: 'stage', stageAfterCommit: false, switch: ['stop', 'switch', 'start'] } as const;

/**
 * Compose Apps. Install verifies each new app's hash chain, loads its images into Docker straight from the medium
 * (hashed in the stream) and extracts its compose project into a staging area beside `compose_apps_root`, with an
 * override that points every service at the loaded image; nothing that runs is touched. Run stops the apps that
 * change (and the stray projects the target does not run), swaps the project directories (two renames per app, each
 * redoable) and starts the target's apps; once the target is current, what only the replaced apps used goes.
 */
export const appsHandler: PayloadHandler<AppsPart> = {
  kind: 'apps', needs: 'run', stepNames: appStepNames,
  install: (part, context) => new AppsInstall(part, context),
  run: (part, context) => new AppsRun(part, context),
};

class AppsInstall implements PartInstall {
  private readonly appStore: AppStore;
  private trees: AppTree[] = [];
  private readonly loadedImages: string[] = [];

  constructor(private readonly part: AppsPart, private readonly context: InstallContext) {
    this.appStore = new AppStore(context.medium);
  }

  /** The hash chain of every app to install, down to the image manifests; configs and layers are hashed while they load. */
  async verify(): Promise<void> {
    const { env, plan } = this.context;
    // Asked now, answered while the trees are read: the space check needs it next.
    env.engine.rootDir().catch(() => undefined);
    this.trees = [];
    for (const app of appsToInstall(this.part.changes)) {
      this.trees.push(await this.appStore.readTree(parseAppUri(app.uri, `target ${plan.target.name}`), env.platform));
    }
  }

  async spaceNeeded(): Promise<SpaceNeed[]> {
    const { engine } = this.context.env;
    let dockerBytes = 0;
    let loadBytes = 0;
    const images = this.trees.flatMap((tree) => tree.images.map((image) => ({ tree, image })));
    const present = await Promise.all(images.map(({ image }) => engine.hasImage(image.config.digest)));
    for (const [index, { tree, image }] of images.entries()) {
      if (present[index]) continue;
      loadBytes += image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
      for (const layer of image.layers) {
        // Docker keeps the tar it receives while it extracts it: the compressed size, plus the extracted size
        // from layers-meta (or an estimate of three times the compressed size where the app has none).
        dockerBytes += layer.size + (tree.layersMeta?.layers.get(layer.digest)?.usage ?? 3 * layer.size);
      }
    }
    const needs: SpaceNeed[] = [{ path: this.context.env.files.apps.stagingRoot, bytes: this.trees.reduce((sum, tree) => sum + 4 * tree.archive.blob.size, 0), what: 'compose projects' }];
    const dockerRoot = await engine.rootDir();
    const toLoad = present.filter((isPresent) => !isPresent).length;
    const what = `container images: ${toLoad} of ${images.length} to load (${formatBytes(loadBytes)}) and their layers extracted`;
    if (dockerRoot && dockerBytes > 0) needs.push({ path: dockerRoot, bytes: dockerBytes, what });
    return needs;
  }

  /** Every blob of every new app's tree, hashed through the medium's verifying streams as `fetch` reads them; nothing is loaded. */
  async verifyContent(): Promise<ContentCheck> {
    const seen = new Set<string>();
    const images = this.trees.flatMap((tree) => {
      // The app's own blobs go with its first image.
      const appLevel = appBlobs(tree).filter(({ kind }) => APP_LEVEL_BLOBS.has(kind)).map(({ descriptor }) => descriptor);
      return tree.images.map((image, index) => ({
        name: imageName(tree, image),
        blobs: [...(index === 0 ? appLevel : []), ...(image.index ? [image.index] : []), image.manifest, image.config, ...image.layers]
          .filter((blob) => !seen.has(blob.digest) && seen.add(blob.digest)),
      }));
    });
    const progress = new ImagesProgress(CONTENT_CHECK_LABEL, images.map((image) => ({ name: image.name, bytes: image.blobs.reduce((sum, blob) => sum + blob.size, 0) })), this.context.env.onProgress);
    for (const [index, image] of images.entries()) {
      progress.start(index);
      let hashed = 0;
      for (const blob of image.blobs) {
        for await (const chunk of await this.appStore.blobs.open(blob)) progress.set(index, (hashed += (chunk as Buffer).length));
      }
      progress.finish(index, 'verified');
    }
    return { blobs: seen.size, bytes: progress.totalBytes };
  }

  /** Images stream from the medium into Docker, hashed on the way, several at once. */
  async fetch(): Promise<{ loadedImages: readonly string[] }> {
    const { env } = this.context;
    const images = this.trees.flatMap((tree) => tree.images.map((image) => ({
      name: imageName(tree, image), tag: localImageTag(image.reference), manifest: image.manifest, config: image.config, layers: image.layers,
    })));
    await loadImagesConcurrently(env.engine, images, this.appStore.blobs, {
      concurrency: env.config.parallelLoads,
      onProgress: env.onProgress,
      label: LOAD_LABEL,
      onLoaded: (result) => result.loaded && this.loadedImages.push(result.imageId),
    });
    return { loadedImages: [...this.loadedImages] };
  }

  /** Compose projects go to the staging area, each with the override that points its services at the loaded images. */
  async stage(): Promise<void> {
    const { env } = this.context;
    const dirs = env.files.apps;
    await rm(dirs.stagingRoot, { recursive: true, force: true });
    await rm(dirs.previousRoot, { recursive: true, force: true });
    for (const tree of this.trees) {
      const directory = dirs.staged(tree.app.name);
      await extractAppArchive(this.appStore.blobs, tree.archive, directory);
      const pins = Object.fromEntries(tree.services.map((service) => [service.name, service.image]));
      const overridePath = join(directory, COMPOSE_OVERRIDE_FILE);
      const appOverride = await readFile(overridePath, 'utf8').catch(() => undefined);
      await writeFile(overridePath, composeOverrideYaml(pins, appOverride));
    }
  }

  /** A failed install leaves Docker as it found it: the images this run loaded go again. */
  async forget(): Promise<void> {
    for (const imageId of this.loadedImages.splice(0)) await this.context.env.engine.removeImage(imageId, { force: true });
  }
}

const LOAD_LABEL = 'load';
const CONTENT_CHECK_LABEL = 'verify content';
const APP_LEVEL_BLOBS = new Set<AppBlob['kind']>(['app manifest', 'app manifest config', 'archive index', 'layers-meta', 'app archive']);

/** "web: nginx": the app and the image's repository name, for progress (the whole reference does not fit a line). */
function imageName(tree: AppTree, image: ImageTree): string {
  return `${tree.app.name}: ${image.reference.repository.split('/').at(-1)}`;
}

class AppsRun implements PartRun {
  readonly switchSteps;

  constructor(private readonly part: AppsPart, private readonly context: RunContext) {
    const [stop, swap, start] = appStepNames.switch;
    this.switchSteps = [
      { name: stop, run: () => this.stopChangedApps() },
      { name: swap, run: () => this.switchProjects() },
      { name: start, run: () => this.startApps(context.pending.target.apps) },
    ];
  }

  async activationState(): Promise<'ready'> {
    return 'ready';
  }

  /**
   * Stops the new apps and puts the previous projects back; unless the device first reboots into the previous
   * rootfs, starts the previous target's apps again. Stray projects get their directory back but are not started:
   * no target runs them (and their images may be pinned in a way only aktualizr-lite's engine resolves).
   */
  async rollBack(options: RollbackOptions): Promise<void> {
    const dirs = this.context.env.files.apps;
    if (options.switched) {
      for (const change of this.changed()) {
        if (change.to) await this.stopApp(change.name);
        if (await exists(dirs.previous(change.name))) {
          await rm(dirs.current(change.name), { recursive: true, force: true });
          await moveDirectory(dirs.previous(change.name), dirs.current(change.name));
        } else if (!change.from) {
          await rm(dirs.current(change.name), { recursive: true, force: true });
        }
      }
    }
    if (!options.rebootFollows) await this.startApps(this.context.pending.previous?.apps ?? []);
  }

  /**
   * What the previous target ran and this one does not, stray projects included, is removed with the images only it
   * used (an image a container still uses stays), then the staging area.
   */
  async finish(): Promise<void> {
    const { env } = this.context;
    if (env.config.pruneImages) await this.pruneReplaced();
    await rm(env.files.apps.previousRoot, { recursive: true, force: true });
    await rm(env.files.apps.stagingRoot, { recursive: true, force: true });
  }

  async forget(): Promise<void> {
    await rm(this.context.env.files.apps.stagingRoot, { recursive: true, force: true });
  }

  private changed(): AppChange[] {
    return this.part.changes.filter((change) => change.kind !== 'unchanged');
  }

  private async stopChangedApps(): Promise<void> {
    for (const change of this.changed()) {
      if (change.from) await this.stopApp(change.name);
    }
  }

  /**
   * Per app, two renames that can each be redone: the running project to `previous`, the staged one into place. A new
   * app has no running project: what is in place when the switch is redone is its own, moved there before.
   */
  private async switchProjects(): Promise<void> {
    const dirs = this.context.env.files.apps;
    for (const change of this.changed()) {
      if (change.from && (await exists(dirs.current(change.name))) && !(await exists(dirs.previous(change.name)))) {
        await moveDirectory(dirs.current(change.name), dirs.previous(change.name));
      }
      if (change.to && (await exists(dirs.staged(change.name)))) await moveDirectory(dirs.staged(change.name), dirs.current(change.name));
    }
  }

  /** Starts every app, then waits for each to be up (their start-up times overlap). */
  private async startApps(apps: readonly AppRecord[]): Promise<void> {
    const { env } = this.context;
    const compose = await env.compose();
    const projects = apps.map((app) => ({ name: app.name, dir: env.files.apps.current(app.name) }));
    for (const project of projects) await compose.start(project);
    for (const project of projects) {
      await compose.waitUntilRunning(project, {
        timeoutMs: env.startTimeoutMs,
        onWaiting: (what, waitedMs) => env.onProgress({ type: 'wait', what: `app ${project.name} (${what})`, waitedMs, timeoutMs: env.startTimeoutMs }),
      });
      env.onProgress({ type: 'step', step: `start ${project.name}`, state: 'done' });
    }
  }

  private async pruneReplaced(): Promise<void> {
    const { env, pending } = this.context;
    const keep = new Set<string>();
    for (const app of pending.target.apps) for (const image of await projectImages(env.files.apps.current(app.name))) keep.add(image);
    for (const change of this.changed()) {
      if (!change.from) continue;
      for (const image of await projectImages(env.files.apps.previous(change.name))) {
        if (!keep.has(image)) await env.engine.removeImage(image).catch(() => undefined);
      }
    }
  }

  /** `compose down` in the app's project; when the project directory is gone, its containers are removed by label. */
  private async stopApp(app: string): Promise<void> {
    const { env } = this.context;
    const dir = env.files.apps.current(app);
    if (await exists(join(dir, COMPOSE_FILE_NAME))) await (await env.compose()).down({ name: app, dir });
    else await env.engine.removeProjectContainers(app);
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
