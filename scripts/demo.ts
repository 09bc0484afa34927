/**
 * The built-in demo (`npm run demo`): a factory made from scratch, a bundle written and verified as a
 * technician would on the host, then a device in temporary directories that checks, installs and runs the
 * newest target on the private dockerd `npm run demo` starts, and finally takes an update.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { sampleApps } from '../fixtures/apps/index.js';
import { buildFactory, scenarios } from '../fixtures/factory.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const workdir = await mkdtemp(join(tmpdir(), 'fioup-offline-demo-'));
const apps = ['web', 'health'];

async function fioupOffline(args: string[], expected: number): Promise<void> {
  process.stdout.write(`\n$ fioup-offline ${args.join(' ')}\n`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'cli/main.ts'), ...args], { stdio: 'inherit', cwd: repo });
    child.on('error', reject);
    child.on('close', (status) => resolve(status ?? -1));
  });
  process.stdout.write(`(exit ${code})\n`);
  if (code !== expected) throw new Error(`fioup-offline ${args[0]} exited ${code}, expected ${expected}`);
}

try {
  process.stdout.write(`Building a demo factory in ${workdir} ...\n`);
  const hardwareIds = ['amd64-linux'];
  const factory = await buildFactory(join(workdir, 'fioctl-download'), scenarios.basic({
    seed: 'demo',
    targets: [
      { hardwareIds, version: 1, apps: [sampleApps.webPair(1), sampleApps.healthchecked()] },
      { hardwareIds, version: 2, apps: [sampleApps.webPair(2), sampleApps.healthchecked()] },
    ],
  }));

  const device = join(workdir, 'device');
  const config = join(device, 'sota.toml');
  await mkdir(device, { recursive: true });
  await cp(factory.dirs.deviceRoots, join(device, 'roots', factory.device.type), { recursive: true });
  await writeFile(config, [
    '[provision]', `primary_ecu_hardware_id = "${factory.device.hardwareId}"`,
    '[pacman]', `tags = "${factory.device.tag}"`, `compose_apps_root = "${join(device, 'compose-apps')}"`,
    '[storage]', `path = "${join(device, 'var-sota')}"`, `uptane_metadata_path = "${join(device, 'roots')}"`,
    '[offline]', `device_type = "${factory.device.type}"`, 'ostree = false', `aklite_lock = "${join(device, 'aklite.lock')}"`, '',
  ].join('\n'));

  const bundle = join(workdir, 'usb-stick', 'bundle-v1.tar');
  await fioupOffline(['bundle-create', factory.dirs.medium, bundle, '--format', 'tar', '--target', 'amd64-linux-lmp-1'], 0);
  await fioupOffline(['bundle', 'inspect', bundle], 0);
  await fioupOffline(['check', '--config', config, '--src-dir', bundle], 16);
  await fioupOffline(['install', '--config', config, '--src-dir', bundle], 101);
  await fioupOffline(['run', '--config', config], 0);
  await fioupOffline(['current', '--config', config], 0);
  await fioupOffline(['status', '--config', config], 0);

  process.stdout.write('\nAn update: the full download, read in place as a directory.\n');
  await fioupOffline(['install', '--config', config, '--src-dir', factory.dirs.medium], 101);
  await fioupOffline(['run', '--config', config], 0);
  await fioupOffline(['status', '--config', config], 0);
  process.stdout.write('\nDemo complete.\n');
} finally {
  const docker = new Docker();
  for (const project of apps) {
    for (const container of await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } })) {
      await docker.getContainer(container.Id).remove({ force: true });
    }
  }
  await rm(workdir, { recursive: true, force: true });
}
