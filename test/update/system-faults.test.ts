import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statfsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AppSpec } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { spawnCli, waitForStop } from '../helpers/cli.js';
import { createTestDevice, exists, factoryImagesInDocker, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../helpers/small-filesystem.js';

const APP = 'diskapp';
const hardwareIds = ['amd64-linux'];

/** An app of 40 files of 64 KiB: 2.5 MiB and 40 inodes of compose project. */
const diskApp: AppSpec = {
  name: APP,
  services: [{ name: 'web', image: { name: `${APP}-web`, files: [{ path: 'hello', content: 'hello\n' }], cmd: ['sh', '-c', 'while true; do sleep 3600; done'] } }],
  files: Array.from({ length: 40 }, (_, index) => ({ path: `data/${index}.txt`, content: `file ${index}\n`.repeat(8192) })),
};

/**
 * Full, inode-starved and read-only filesystems under the state and the compose projects, on loop-mounted ext4
 * images: each fault is exit 60 (out of space) or 1 with one line naming the path, the cause and the fix.
 */
describe('the device filesystems fail', () => {
  let workdir: string;
  let factory: FactoryBuild;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-system-faults-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({ seed: 'system-faults', targets: [{ hardwareIds, version: 1, apps: [diskApp] }] }));
  });
  after(async () => {
    await removeComposeProjects([APP]);
    await removeTree(workdir);
  });

  /** A device whose `what` ("compose" or "storage") lives on a small filesystem of its own. */
  async function deviceOn(what: 'compose' | 'storage', size: string, options: { inodes?: number } = {}) {
    const device = await createTestDevice(factory);
    const small = await mountSmallFilesystem(device.root, 'small', size, options);
    const path = join(small.mountPoint, what);
    await device.configure('50-small.toml', what === 'compose'
      ? `[pacman]\nstorage_watermark = "95"\ncompose_apps_root = "${path}"\n`
      : `[pacman]\nstorage_watermark = "95"\n[storage]\npath = "${path}"\n[offline]\naklite_lock = "${join(device.root, 'aklite.lock')}"\n`);
    return { device, small, path };
  }
  const install = (device: TestDevice) => device.cli(['install', '--src-dir', factory.dirs.medium]);
  const cleanUp = async (device: TestDevice, small: SmallFilesystem) => {
    small.unmount();
    await removeTree(device.root);
  };

  test('the disk fills up while the projects are staged: 60 with the filesystem\'s numbers, not damaged content; once freed, install works', async () => {
    const { device, small, path } = await deviceOn('compose', '24M');
    try {
      // The install stops before staging (the space check passed), then the filesystem is filled.
      const cli = spawnCli(['install', '--src-dir', factory.dirs.medium, '--config', device.configDir], { env: { FIOUP_OFFLINE_STOP_AT: 'install:stage' } });
      assert.equal(await waitForStop(cli.pid), 'T', 'the install stopped before staging');
      const filler = join(small.mountPoint, 'filler');
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'status=none'], { stdio: 'ignore' });
      } catch {
        // dd ends with ENOSPC: the filesystem is full.
      }
      process.kill(cli.pid, 'SIGCONT');
      const full = await cli.done;
      assert.equal(full.code, 60, full.stderr);
      const error = errorLine(full.stderr);
      assert.match(error, new RegExp(`cannot write ${small.mountPoint}/\\.compose\\.staging/\\.${APP}\\.staging-\\w+/\\S+: no space left \\(ENOSPC\\): the filesystem mounted at ${small.mountPoint} has [\\d.]+ \\w+ of [\\d.]+ MiB free and \\d+ of \\d+ inodes free; free space`));
      assert.doesNotMatch(full.stderr, /not a valid gzip tar/);
      assert.deepEqual(await device.state(), { failedTargets: [] }, 'no installation recorded');

      execFileSync('rm', [filler]);
      const again = await install(device);
      assert.equal(again.code, 101, again.stderr);
      assert.deepEqual(await readdir(join(small.mountPoint, '.compose.staging')), [APP]);
      assert.equal(await exists(path), false, 'nothing runs from the compose root before run');
    } finally {
      await cleanUp(device, small);
    }
  });

  test('a filesystem with bytes to spare but too few inodes is refused by the space check (60), before anything is written', async () => {
    const { device, small, path } = await deviceOn('compose', '24M', { inodes: 256 });
    try {
      // Use inodes until fewer than the project needs (40 files and their directories) are left under the watermark.
      await mkdir(join(small.mountPoint, 'many'));
      for (let index = 0; allowedInodes(small.mountPoint, 95) >= 20; index++) await writeFile(join(small.mountPoint, 'many', String(index)), '');
      const images = await factoryImagesInDocker(factory);
      const refused = await install(device);
      assert.equal(refused.code, 60, refused.stderr);
      assert.match(errorLine(refused.stderr), new RegExp(`not enough free space on the filesystem of ${small.mountPoint}: the update needs [\\d.]+ \\w+ and \\d+ inodes .*only \\d+ inodes may be used under the 95% storage watermark .*\\d+ of \\d+ inodes free`));
      assert.deepEqual(await factoryImagesInDocker(factory), images, 'no image was loaded');
      assert.equal(await exists(path), false, 'nothing was written under the compose root');
    } finally {
      await cleanUp(device, small);
    }
  });

  test('no inode left for the lock: 60 naming the lock and the filesystem', async () => {
    const { device, small, path } = await deviceOn('storage', '8M', { inodes: 128 });
    try {
      // The state directory exists (an earlier update made it); the files in it do not.
      await mkdir(join(path, 'fioup-offline'), { recursive: true });
      await mkdir(join(small.mountPoint, 'many'));
      try {
        for (let index = 0; ; index++) await writeFile(join(small.mountPoint, 'many', String(index)), '');
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      const refused = await install(device);
      assert.equal(refused.code, 60, refused.stderr);
      assert.match(errorLine(refused.stderr), new RegExp(`cannot open ${path}/fioup-offline/lock: no space left \\(ENOSPC\\): the filesystem mounted at ${small.mountPoint} has [\\d.]+ \\w+ of [\\d.]+ MiB free and 0 of \\d+ inodes free; free space \\(or inodes: remove files\\)`));
      assert.equal(refused.stderr.includes('ENOSPC: no space left on device, open'), false, 'not the raw system error');
    } finally {
      await cleanUp(device, small);
    }
  });

  test('a read-only state filesystem: 1, naming the mount point and how to remount it; nothing written', async () => {
    const { device, small, path } = await deviceOn('storage', '8M');
    try {
      execFileSync('mount', ['-o', 'remount,ro', small.mountPoint]);
      const refused = await install(device);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(errorLine(refused.stderr), new RegExp(`cannot create ${path}\\S*: the filesystem mounted at ${small.mountPoint} is read-only \\(EROFS\\): remount it read-write \\(mount -o remount,rw ${small.mountPoint}\\)`));
      assert.equal(await exists(path), false);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', small.mountPoint]);
      await cleanUp(device, small);
    }
  });

  test('a [storage] path under a file: 1, naming the file in the way', async () => {
    const device = await createTestDevice(factory);
    try {
      const file = join(device.root, 'not-a-directory');
      await writeFile(file, 'a file\n');
      await device.configure('50-storage.toml', `[storage]\npath = "${join(file, 'sota')}"\n[offline]\naklite_lock = "${join(device.root, 'aklite.lock')}"\n`);
      const refused = await install(device);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(errorLine(refused.stderr), new RegExp(`${file} is a file, not a directory \\(ENOTDIR\\): move it away or correct the configured path`));
    } finally {
      await removeTree(device.root);
    }
  });
});

/** The error line the CLI printed (the one line a failure gets). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((line) => /^error: /.test(line));
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

/** Inodes a writer may still create under the watermark, as the space check counts them. */
function allowedInodes(path: string, watermarkPercent: number): number {
  const fs = statfsSync(path);
  return Math.floor((fs.files * watermarkPercent) / 100) - (fs.files - fs.ffree);
}
