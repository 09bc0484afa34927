import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { extractAppArchive } from '../../apps/app-archive-extract.js';
import { COMPOSE_FILE_NAME } from '../../apps/compose-file.js';
import { AppStore } from '../../apps/app-store.js';
import { appBlobs, type AppBlob, type AppTree, type ImageTree } from '../../apps/app-tree.js';
import type { DeviceEnvironment } from '../../device/environment.js';
import { ImageLoadJournal } from '../../device/image-journal.js';
import type { AppRecord, DeviceState } from '../../device/state.js';
import { composeOverrideYaml, COMPOSE_OVERRIDE_FILE } from '../../docker/compose-override.js';
import { ImagesProgress, loadImagesConcurrently } from '../../docker/load-images.js';
import { localImageTag } from '../../docker/image-ref.js';
import { formatBytes } from '../../format.js';
import { renameDurable } from '../../fs/atomic.js';
import { parseAppUri } from '../../targets/app-uri.js';
import { projectImages } from '../app-status.js';
import { BLOCK_BYTES, watermarkGuard, type SpaceNeed } from '../free-space.js';
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
  removeLeftovers: (env, state) => removeAppLeftovers(env, state),
};

class AppsInstall implements PartInstall {
  private readonly appStore: AppStore;
  private trees: AppTree[] = [];
  private readonly loadedImages: string[] = [];

  constructor(private readonly part: AppsPart, private readonly context: InstallContext) {
    this.appStore = AppStore.of(context.medium);
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
        // from layers-meta (or an estimate of three times the compressed size where the app has none; the
        // loads measure every layer as it streams and stop one that expands beyond what the watermark leaves).
        dockerBytes += layer.size + (tree.layersMeta?.layers.get(layer.digest)?.usage ?? 3 * layer.size);
      }
    }
    // Each project: its files (each rounded up to a block), its directory and the override file.
    const projects = this.trees.map(({ expansion }) => ({ bytes: expansion.bytes + (expansion.entries + 2) * BLOCK_BYTES, inodes: expansion.entries + 2 }));
    const needs: SpaceNeed[] = [{
      path: this.context.env.files.apps.stagingRoot,
      bytes: projects.reduce((sum, project) => sum + project.bytes, 0),
      inodes: projects.reduce((sum, project) => sum + project.inodes, 1),
      what: 'compose projects',
    }];
    const dockerRoot = await engine.rootDir();
    // Docker's inodes cannot be known before the layers are read: the loads count them as they stream.
    const toLoad = present.filter((isPresent) => !isPresent).length;
    const what = `container images: ${toLoad} of ${images.length} to load (${formatBytes(loadBytes)}) and their layers extracted`;
    if (dockerRoot && dockerBytes > 0) needs.push({ path: dockerRoot, bytes: dockerBytes, inodes: 0, what });
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

  /**
   * Images stream from the medium into Docker, hashed on the way, several at once, each layer measured against
   * the watermark of Docker's filesystem. The images are journalled before the first byte goes: if this install
   * dies or is abandoned, the next install or run removes them.
   */
  async fetch(): Promise<{ loadedImages: readonly string[] }> {
    const { env } = this.context;
    const images = this.trees.flatMap((tree) => tree.images.map((image) => ({
      name: imageName(tree, image), tag: localImageTag(image.reference), manifest: image.manifest, config: image.config, layers: image.layers,
      ...(tree.layersMeta ? { announcedExpansion: new Map([...tree.layersMeta.layers].map(([digest, layer]) => [digest, layer.usage])) } : {}),
    })));
    const present = await Promise.all(images.map((image) => env.engine.hasImage(image.config.digest)));
    await new ImageLoadJournal(env.files.state).add(images.filter((_image, index) => !present[index]).map((image) => image.config.digest));
    const dockerRoot = await env.engine.rootDir();
    await loadImagesConcurrently(env.engine, images, this.appStore.blobs, {
      concurrency: env.config.parallelLoads,
      onProgress: env.onProgress,
      label: LOAD_LABEL,
      onLoaded: (result) => result.loaded && this.loadedImages.push(result.imageId),
      ...(dockerRoot ? { guard: watermarkGuard(dockerRoot, env.config.storageWatermark) } : {}),
    });
    return { loadedImages: [...this.loadedImages] };
  }

  /** Compose projects go to the staging area, each with the override that points its services at the loaded images. */
  async stage(): Promise<void> {
    const { env } = this.context;
    const dirs = env.files.apps;
    await rm(dirs.stagingRoot, { recursive: true, force: true });
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
    const { engine, files } = this.context.env;
    const removed = this.loadedImages.splice(0);
    for (const imageId of removed) await engine.removeImage(imageId, { force: true });
    await new ImageLoadJournal(files.state).remove(removed);
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

  /** Stopping, switching and starting apps all need dockerd: refused before any of it starts when it does not answer. */
  async requireReady(): Promise<void> {
    await this.context.env.engine.version();
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
    await settleProjects(this.context.env, this.context.pending.target.apps, { keepStaging: false });
  }

  /** After a rollback (or one that could not finish), the previous target's projects are in place again. */
  async forget(): Promise<void> {
    await settleProjects(this.context.env, this.context.pending.previous?.apps ?? [], { keepStaging: false });
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

  /** `compose down` in the app's project; when the project directory is gone, its containers are removed by label. */
  private async stopApp(app: string): Promise<void> {
    const { env } = this.context;
    const dir = env.files.apps.current(app);
    if (await exists(join(dir, COMPOSE_FILE_NAME))) await (await env.compose()).down({ name: app, dir });
    else await env.engine.removeProjectContainers(app);
  }
}

/**
 * Puts the compose directories in the order of a device running `apps`, no switch being under way: a project of
 * theirs left aside in `previous` (a rollback that could not finish) goes back into `compose_apps_root`; any other
 * project there is one they replaced or dropped, removed with the images only it used (`[pacman] docker_prune`);
 * the staging area goes unless an installation waits in it.
 */
async function settleProjects(env: DeviceEnvironment, apps: readonly AppRecord[], options: { keepStaging: boolean }): Promise<void> {
  const dirs = env.files.apps;
  const running = new Set(apps.map((app) => app.name));
  const aside = await dirs.projectsIn(dirs.previousRoot);
  const replaced: string[] = [];
  for (const app of aside) {
    if (running.has(app) && !(await exists(dirs.current(app)))) await moveDirectory(dirs.previous(app), dirs.current(app));
    else replaced.push(app);
  }
  if (replaced.length > 0 && env.config.pruneImages) {
    const keep = new Set<string>();
    for (const app of await dirs.installed()) for (const image of await projectImages(dirs.current(app))) keep.add(image);
    for (const app of replaced) {
      for (const image of await projectImages(dirs.previous(app))) {
        if (!keep.has(image)) await env.engine.removeImage(image).catch(() => undefined);
      }
    }
  }
  await rm(dirs.previousRoot, { recursive: true, force: true });
  if (!options.keepStaging) await rm(dirs.stagingRoot, { recursive: true, force: true });
}

/**
 * What commands that died or were abandoned left (the handler's `removeLeftovers`): unless a switch is under way,
 * the compose directories are settled for the current target; then the images an install journalled and that no
 * project of the device names are removed.
 */
async function removeAppLeftovers(env: DeviceEnvironment, state: DeviceState): Promise<void> {
  const phase = state.pending?.phase;
  const switching = phase === 'switching' || phase === 'rolling-back';
  if (!switching) await settleProjects(env, state.current?.apps ?? [], { keepStaging: phase === 'staged' });
  const journal = new ImageLoadJournal(env.files.state);
  const journalled = await journal.list();
  if (journalled.length === 0) return;
  const dirs = env.files.apps;
  const named = new Set<string>();
  for (const root of [dirs.root, dirs.stagingRoot, dirs.previousRoot]) {
    for (const app of await dirs.projectsIn(root)) {
      for (const image of await projectImages(join(root, app))) {
        const id = await env.engine.imageIdOf(image);
        if (id) named.add(id);
      }
    }
  }
  for (const image of journalled) if (!named.has(image)) await env.engine.removeImage(image, { force: true });
  await journal.remove(journalled);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function moveDirectory(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await mkdir(dirname(to), { recursive: true });
  await renameDurable(from, to);
}
