import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { processState } from '../helpers/cli.js';
import { createTestDevice, exists, factoryImagesInDocker, flockFree, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../helpers/small-filesystem.js';

const run = promisify(execFile);
const hardwareIds = ['amd64-linux'];

describe('install guards', () => {
  let workdir: string;
  let factory: FactoryBuild;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-guards-'));
    const [bulky] = sampleApps.scaleApps({ count: 1, imagesPerApp: 1, layersPerImage: 1, layerSize: 1 << 20, seed: 'guards' });
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'guards',
      targets: [{ hardwareIds, version: 1, apps: [{ ...bulky!, name: 'bulky' }] }],
    }));
  });
  after(async () => {
    await removeComposeProjects(['bulky']);
    await removeTree(workdir);
  });

  test('a second install while one is working is refused at once by the lock', async () => {
    const device = await createTestDevice(factory);
    try {
      const lock = join(device.storage, 'fioup-offline', 'lock');
      // The first install stops itself (SIGSTOP) in the middle of its work, holding the lock.
      const first = device.cli(['install', '--src-dir', factory.dirs.medium], { FIOUP_OFFLINE_STOP_AT: 'install:load' });
      let pid = 0;
      for (let attempt = 0; attempt < 1500 && !(pid && (await processState(pid)) === 'T'); attempt++) {
        pid = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10) || 0;
        await sleep(20);
      }
      assert.equal(await processState(pid), 'T', 'the first install is held in its load step');
      const second = await device.cli(['install', '--src-dir', factory.dirs.medium]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`another fioup-offline \\(pid ${pid}\\) is working on this device`));
      process.kill(pid, 'SIGCONT');
      assert.equal((await first).code, 101);
      assert.equal(await flockFree(lock), true, 'the lock is released at the end');
    } finally {
      await removeTree(device.root);
    }
  });

  test('while aktualizr-lite runs (its lock held), install and run are refused naming the lock; check only reads and goes on', async () => {
    const device = await createTestDevice(factory);
    const lock = join(device.storage, 'aklite.lock');
    await mkdir(device.storage, { recursive: true });
    // flock(1) holds it as aktualizr-lite does (-o: the lock stays with flock, not its command), in its own process group.
    const aktualizrLite = spawn('flock', ['-n', '-o', lock, 'sleep', '60'], { stdio: 'ignore', detached: true });
    try {
      for (let attempt = 0; attempt < 100 && (await flockFree(lock)); attempt++) await sleep(20);
      assert.equal(await flockFree(lock), false, 'aktualizr-lite holds its lock');
      for (const args of [['install', '--src-dir', factory.dirs.medium], ['run']]) {
        const refused = await device.cli(args);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, new RegExp(`${lock} is held: aktualizr-lite, aklite-offline or another fioup-offline is running`));
      }
      assert.equal((await device.cli(['check', '--src-dir', factory.dirs.medium])).code, 16);
      assert.deepEqual(await device.state(), { failedTargets: [] });
    } finally {
      const closed = new Promise((resolve) => aktualizrLite.on('close', resolve));
      process.kill(-aktualizrLite.pid!, 'SIGKILL');
      await closed;
      await removeTree(device.root);
    }
  });

  describe('free space', () => {
    let device: TestDevice;
    let small: SmallFilesystem;
    let mountPoint: string;
    before(async () => {
      device = await createTestDevice(factory);
      small = await mountSmallFilesystem(device.root, 'small', '16M');
      mountPoint = small.mountPoint;
      // Fill the filesystem to well above the watermark.
      await run('dd', ['if=/dev/zero', `of=${join(mountPoint, 'filler')}`, 'bs=1M', 'count=13', 'status=none']);
      await device.configure('50-space.toml', `[pacman]\nstorage_watermark = "80"\ncompose_apps_root = "${join(mountPoint, 'compose-apps')}"\n`);
    });
    after(async () => {
      small.unmount();
      await removeTree(device.root);
    });

    test('a filesystem above the watermark is refused (60) with the numbers, before anything is written', async () => {
      const images = await factoryImagesInDocker(factory);
      const check = await device.cli(['check', '--src-dir', factory.dirs.medium]);
      assert.equal(check.code, 60, `check refuses as install does: ${check.stderr}`);
      assert.match(check.stdout, /^Space {4}.* on the filesystem of .*small.*; [\d.]+ \w+ may be used under the 80% watermark$/m);
      const install = await device.cli(['install', '--src-dir', factory.dirs.medium]);
      assert.equal(install.code, 60, install.stderr);
      assert.match(install.stderr, /not enough free space on the filesystem of .*small.*: the update needs [\d.]+ \w+.*80% storage watermark/);
      assert.deepEqual(await factoryImagesInDocker(factory), images, 'no image was loaded');
      assert.deepEqual(await device.state(), { failedTargets: [] });
      assert.equal(await exists(join(mountPoint, 'compose-apps')), false);
    });
  });
});
