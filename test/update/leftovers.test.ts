import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createTestDevice, exists, factoryImagesInDocker, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { deviceSnapshot } from '../helpers/snapshot.js';

const APP = 'leftover';
const hardwareIds = ['amd64-linux'];
const KILLED = -1;
const target = (version: number) => `amd64-linux-lmp-${version}`;

/**
 * What a crashed or abandoned command leaves (images an install loaded for an installation it never recorded, the
 * projects a run set aside) is removed by the next install or run: the device ends as a run without crashes leaves it.
 */
describe('what crashed commands leave is removed by the next install or run', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-leftovers-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'leftovers',
      targets: [1, 2, 3].map((version) => ({ hardwareIds, version, apps: [sampleApps.tiny(APP, version)] })),
    }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeComposeProjects([APP]);
    await removeTree(workdir);
    await removeTree(device.root);
  });

  const install = (version: number, env?: NodeJS.ProcessEnv) => device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(version)], env);
  const sideDirectories = async () => (await readdir(dirname(device.composeRoot))).filter((name) => name.startsWith('.compose-apps.'));

  test('an install killed after its loads and abandoned for another target: its images go with the next install', async () => {
    assert.equal((await install(1)).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    const clean = await deviceSnapshot(device, factory, [APP]);
    const before = await factoryImagesInDocker(factory);

    const killed = await install(2, { FIOUP_OFFLINE_CRASH_AT: 'install:stage' });
    assert.equal(killed.code, KILLED, killed.stderr);
    const abandoned = (await factoryImagesInDocker(factory)).filter((image) => !before.includes(image));
    assert.equal(abandoned.length, 1, 'the killed install loaded the image of target 2');
    assert.ok(await exists(join(device.storage, 'fioup-offline', 'loading-images.json')), 'its loads are journalled');

    // Abandoned: the technician installs target 3 instead, and runs it.
    assert.equal((await install(3)).code, 101);
    const left = await factoryImagesInDocker(factory);
    assert.equal(left.includes(abandoned[0]!), false, 'the image of the abandoned install is removed');
    assert.equal(left.length, 2, 'the images of targets 1 (running) and 3 (staged) stay');
    assert.equal((await device.cli(['run'])).code, 0);
    assert.equal(await exists(join(device.storage, 'fioup-offline', 'loading-images.json')), false);

    // The same device, updated to 3 without the crash, for comparison: back to 1, then to 3.
    const crashed = await deviceSnapshot(device, factory, [APP]);
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(1), '--force'])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    assert.deepEqual(await deviceSnapshot(device, factory, [APP]), clean);
    assert.equal((await install(3)).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    assert.deepEqual(crashed, await deviceSnapshot(device, factory, [APP]), 'the crash left nothing behind');
  });

  test('a run killed while it removes what the previous target used: the next run finishes the clean-up', async () => {
    const replaced = await factoryImagesInDocker(factory);
    assert.equal(replaced.length, 1, 'target 3 runs');
    const downgrade = await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(2), '--force']);
    assert.equal(downgrade.code, 101, downgrade.stderr);
    const killed = await device.cli(['run'], { FIOUP_OFFLINE_CRASH_AT: 'run:clean' });
    assert.equal(killed.code, KILLED, killed.stderr);
    assert.equal((await device.state()).pending?.phase, 'finishing');
    assert.ok((await sideDirectories()).includes('.compose-apps.previous'), 'the replaced project is still set aside');
    assert.ok((await factoryImagesInDocker(factory)).includes(replaced[0]!), 'the replaced image is still there');

    const rerun = await device.cli(['run']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal((await device.state()).pending, undefined);
    assert.equal((await device.state()).current?.name, target(2));
    assert.deepEqual(await sideDirectories(), []);
    const images = await factoryImagesInDocker(factory);
    assert.equal(images.includes(replaced[0]!), false, 'the image only the replaced target used is removed');
    assert.equal(images.length, 1);
  });
});
