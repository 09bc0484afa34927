import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import Docker from 'dockerode';
import type { FactoryBuild } from '../../fixtures/factory.js';
import { factoryImageIds, type TestDevice } from './device.js';

/**
 * What an update leaves on a test device, in a form two runs can be compared by: the Docker images of the factory
 * (ids and tags), the containers of the given compose projects (service, image, state: container ids differ from
 * run to run), and every file under the device's directory but its config and roots, with its content's digest.
 * Contents that differ by nature are left out: the lock (its holder's pid), the history (times and durations) and
 * the time an installation was recorded.
 */
export interface DeviceSnapshot {
  readonly images: string[];
  readonly containers: string[];
  readonly files: string[];
}

export async function deviceSnapshot(device: TestDevice, factory: Pick<FactoryBuild, 'apps'>, projects: readonly string[]): Promise<DeviceSnapshot> {
  const docker = new Docker();
  const ours = factoryImageIds(factory);
  const images = (await docker.listImages({ all: true }))
    .filter((image) => ours.has(image.Id))
    .map((image) => `${image.Id} ${(image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>').sort().join(' ')}`)
    .sort();
  const containers: string[] = [];
  for (const project of projects) {
    for (const container of await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } })) {
      containers.push(`${project}/${container.Labels['com.docker.compose.service']} ${container.ImageID} ${container.State}`);
    }
  }
  return { images, containers: containers.sort(), files: await filesUnder(device.root, [device.configDir, join(device.root, 'roots')]) };
}

async function filesUnder(root: string, skipped: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (skipped.includes(path)) continue;
      const name = relative(root, path);
      if (entry.isDirectory()) {
        files.push(`${name}/`);
        await walk(path);
      } else {
        files.push(`${name} ${await contentOf(path, entry.name)}`);
      }
    }
  };
  await walk(root);
  return files.sort();
}

async function contentOf(path: string, name: string): Promise<string> {
  if (name === 'lock' || name === 'history.json') return '(not compared)';
  let content = await readFile(path);
  if (name === 'state.json') {
    const { pending, ...state } = JSON.parse(content.toString('utf8')) as { pending?: { installedAt?: string } };
    content = Buffer.from(JSON.stringify({ ...state, pending: pending && { ...pending, installedAt: undefined } }));
  }
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}
