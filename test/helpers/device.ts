import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { FactoryBuild } from '../../fixtures/factory.js';
import { runCli, type CliResult } from './cli.js';

/** A device in a temporary directory: config snippets, initial roots from a factory, state and compose roots. */
export interface TestDevice {
  readonly root: string;
  readonly configDir: string;
  readonly storage: string;
  readonly composeRoot: string;
  /** Runs the CLI against this device's config. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** Adds or replaces a config snippet (later names override earlier ones). */
  configure(name: string, toml: string): Promise<void>;
  state(): Promise<{ current?: { name: string }; pending?: { target: { name: string }; phase: string }; failedTargets: string[] }>;
  /** Stops and removes every container of the given compose projects. */
  removeApps(projects: readonly string[]): Promise<void>;
}

export async function createTestDevice(factory: FactoryBuild, extraToml = ''): Promise<TestDevice> {
  const root = await mkdtemp(join(tmpdir(), 'fioup-device-'));
  const configDir = join(root, 'conf.d');
  const storage = join(root, 'var-sota');
  const composeRoot = join(root, 'compose-apps');
  const roots = join(root, 'roots');
  await mkdir(configDir, { recursive: true });
  await cp(factory.dirs.deviceRoots, join(roots, factory.device.type), { recursive: true });
  await writeFile(join(configDir, '10-device.toml'), [
    '[provision]', `primary_ecu_hardware_id = "${factory.device.hardwareId}"`,
    '[pacman]', `tags = "${factory.device.tag}"`, `compose_apps_root = "${composeRoot}"`, `reset_apps_root = "${join(root, 'reset-apps')}"`,
    '[storage]', `path = "${storage}"`,
    '[offline]', `roots_dir = "${roots}"`, `device_type = "${factory.device.type}"`, 'ostree = false', `aklite_lock = "${join(storage, 'aklite.lock')}"`,
    extraToml,
  ].join('\n'));
  return {
    root,
    configDir,
    storage,
    composeRoot,
    cli: (args, env) => runCli([...args, '--config', configDir], env ? { env } : {}),
    configure: (name, toml) => writeFile(join(configDir, name), toml),
    state: async () => JSON.parse(await readFile(join(storage, 'fioup-offline', 'state.json'), 'utf8').catch(() => '{"failedTargets":[]}')),
    removeApps: (projects) => removeComposeProjects(projects),
  };
}

export async function removeComposeProjects(projects: readonly string[]): Promise<void> {
  const docker = new Docker();
  for (const project of projects) {
    const containers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
    for (const container of containers) await docker.getContainer(container.Id).remove({ force: true });
  }
}

export interface RunningContainer {
  id: string;
  service: string;
  image: string;
  imageId: string;
  state: string;
}

/** The containers of a compose project, by service. */
export async function projectContainers(project: string): Promise<Map<string, RunningContainer>> {
  const docker = new Docker();
  const containers = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  return new Map(containers.map((container) => [container.Labels['com.docker.compose.service']!, {
    id: container.Id,
    service: container.Labels['com.docker.compose.service']!,
    image: container.Image,
    imageId: container.ImageID,
    state: container.State,
  }]));
}

/**
 * Which images of the factory's apps (any platform) Docker has, sorted. Tests that claim "no image was loaded" compare
 * this before and after: other test files load their own images into the same dockerd at the same time.
 */
export async function factoryImagesInDocker(factory: Pick<FactoryBuild, 'apps'>): Promise<string[]> {
  const ours = factoryImageIds(factory);
  return (await new Docker().listImages({ all: true })).map((image) => image.Id).filter((id) => ours.has(id)).sort();
}

/** The Docker image ids (config digests) of every image of the factory's apps, any platform. */
export function factoryImageIds(factory: Pick<FactoryBuild, 'apps'>): Set<string> {
  return new Set(factory.apps.flatMap((app) => app.images.flatMap((image) => Object.values(image.platforms).map((platform) => platform.configDigest))));
}

async function dockerLogs(containerId: string): Promise<string> {
  const { stdout } = await promisify(execFile)('docker', ['logs', containerId]);
  return stdout;
}

/** The container's logs once they contain `text`, or as they are after about ten seconds. */
export async function waitForLog(containerId: string, text: string): Promise<string> {
  let logs = '';
  for (let attempt = 0; attempt < 40 && !logs.includes(text); attempt++) {
    logs = await dockerLogs(containerId);
    if (!logs.includes(text)) await sleep(250);
  }
  return logs;
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** Whether util-linux's flock(1) could lock `path` now: what the kernel says, whatever the file holds. */
export function flockFree(path: string): Promise<boolean> {
  return new Promise((resolve) => execFile('flock', ['-n', path, 'true'], (error) => resolve(!error)));
}
