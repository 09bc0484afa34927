import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps, webPage } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createTestDevice, factoryImagesInDocker, projectContainers, removeComposeProjects, removeTree, waitForLog, type TestDevice } from '../helpers/device.js';

// App names of their own: other test files run compose projects on the same dockerd at the same time.
const STORE = 'store';
const MONITOR = 'monitor';
const CRASHY = 'crashy';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;

function targets() {
  return [
    { hardwareIds, version: 1, apps: [sampleApps.webPair(1, STORE), sampleApps.healthchecked(MONITOR)] },
    { hardwareIds, version: 2, apps: [sampleApps.webPair(2, STORE), sampleApps.healthchecked(MONITOR)] },
    { hardwareIds, version: 3, apps: [sampleApps.webPair(2, STORE)] },
    { hardwareIds, version: 4, apps: [sampleApps.webPair(2, STORE), sampleApps.healthchecked(MONITOR), sampleApps.failing(CRASHY)] },
  ];
}

describe('install and run on a real dockerd', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-install-run-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({ seed: 'install-run', targets: targets() }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeComposeProjects([STORE, MONITOR, CRASHY]);
    await removeTree(workdir);
    await removeTree(device.root);
  });

  const medium = () => ['--src-dir', factory.dirs.medium];

  test('a fresh device installs two apps (101), runs them (0) on the exact pinned images, and a second install is a no-op (0)', async () => {
    const install = await device.cli(['install', ...medium(), '--target', target(1)]);
    assert.equal(install.code, 101, install.stderr);
    assert.match(install.stdout, /Run 'fioup-offline run' to start it \(no dockerd restart is needed\)/);
    assert.equal((await device.state()).pending?.target.name, target(1));
    assert.equal((await projectContainers(STORE)).size, 0, 'install starts nothing');

    const run = await device.cli(['run']);
    assert.equal(run.code, 0, run.stderr);
    const store = await projectContainers(STORE);
    const written = factory.apps.find((app) => app.uri === factory.targets.find((t) => t.name === target(1))!.apps.find((a) => a.name === STORE)!.uri)!;
    const expectedImageIds = written.images.map((image) => image.platforms.amd64!.configDigest).sort();
    assert.deepEqual([...store.values()].map((container) => container.imageId).sort(), expectedImageIds);
    assert.ok([...store.values()].every((container) => container.state === 'running'));
    assert.match(await waitForLog(store.get('client')!.id, webPage(STORE, 1)), new RegExp(`received: ${webPage(STORE, 1)}`));
    assert.equal((await projectContainers(MONITOR)).get('service')?.state, 'running');

    const status = await device.cli(['status', '--json']);
    const document = JSON.parse(status.stdout);
    assert.equal(document.current.name, target(1));
    const apps = document.apps.map((app: { name: string; state: string; imagesPresent: boolean }) => `${app.name} ${app.state} ${app.imagesPresent}`).sort();
    assert.deepEqual(apps, [`${MONITOR} healthy true`, `${STORE} running true`]);
    assert.equal((await device.cli(['install', ...medium(), '--target', target(1)])).code, 0);
  });

  test('when apps of the current target stopped, check says they need sync (17) and install brings them back', async () => {
    await removeComposeProjects([MONITOR]);
    const check = await device.cli(['check', ...medium(), '--target', target(1)]);
    assert.equal(check.code, 17, check.stderr);
    assert.equal((await device.cli(['install', ...medium(), '--target', target(1)])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    assert.equal((await projectContainers(MONITOR)).get('service')?.state, 'running');
    assert.equal((await device.cli(['check', ...medium(), '--target', target(1)])).code, 0);
  });

  test('an update of one app recreates only that app\'s containers; run works with the medium gone', async () => {
    const before = { store: await projectContainers(STORE), monitor: await projectContainers(MONITOR) };
    const install = await device.cli(['install', ...medium(), '--target', target(2)]);
    assert.equal(install.code, 101, install.stderr);
    const unplugged = `${factory.dirs.medium}.unplugged`;
    await rename(factory.dirs.medium, unplugged);
    try {
      const run = await device.cli(['run']);
      assert.equal(run.code, 0, run.stderr);
    } finally {
      await rename(unplugged, factory.dirs.medium);
    }
    const store = await projectContainers(STORE);
    assert.notEqual(store.get('server')!.id, before.store.get('server')!.id, 'the changed app is recreated');
    assert.equal(store.get('client')!.imageId, before.store.get('client')!.imageId, 'its unchanged service runs the same image');
    assert.equal((await projectContainers(MONITOR)).get('service')!.id, before.monitor.get('service')!.id, 'the unchanged app keeps its container');
    assert.match(await waitForLog(store.get('client')!.id, webPage(STORE, 2)), new RegExp(webPage(STORE, 2)));
    assert.equal((await device.state()).current?.name, target(2));
  });

  test('a target whose new app fails is rolled back (99) and refused afterwards without --force (102)', async () => {
    const install = await device.cli(['install', ...medium(), '--target', target(4)]);
    assert.equal(install.code, 101, install.stderr);
    const run = await device.cli(['run']);
    assert.equal(run.code, 99, run.stderr);
    assert.match(run.stdout + run.stderr, /boom/, 'the failing service log tail is shown');
    assert.equal((await projectContainers(CRASHY)).size, 0);
    assert.equal((await projectContainers(STORE)).get('server')?.state, 'running');
    assert.equal((await projectContainers(MONITOR)).get('service')?.state, 'running');
    const state = await device.state();
    assert.equal(state.current?.name, target(2));
    assert.equal(state.pending, undefined);
    assert.deepEqual(state.failedTargets, [target(4)]);
    assert.deepEqual(await readdir(device.composeRoot).then((names) => names.sort()), [MONITOR, STORE]);
    assert.equal((await device.cli(['install', ...medium(), '--target', target(4)])).code, 102);
  });

  test('an app dropped by the target, and an app disabled in config, are stopped and removed', async () => {
    assert.equal((await device.cli(['install', ...medium(), '--target', target(3)])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    assert.equal((await projectContainers(MONITOR)).size, 0);
    assert.deepEqual(await readdir(device.composeRoot), [STORE]);

    assert.equal((await device.cli(['install', ...medium(), '--target', target(2)])).code, 102, 'a downgrade needs --force');
    assert.equal((await device.cli(['install', ...medium(), '--target', target(2), '--force'])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);
    assert.equal((await projectContainers(MONITOR)).get('service')?.state, 'running');

    await device.configure('50-apps.toml', `[pacman]\ncompose_apps = "${STORE}"\n`);
    const install = await device.cli(['install', ...medium(), '--target', target(4)]);
    assert.equal(install.code, 102, 'target 4 failed before');
    assert.equal((await device.cli(['install', ...medium(), '--target', target(4), '--force'])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0, 'the failing app is disabled, so target 4 runs');
    assert.equal((await projectContainers(MONITOR)).size, 0);
    assert.equal((await projectContainers(CRASHY)).size, 0);
    assert.deepEqual(await readdir(device.composeRoot), [STORE]);
  });

  test('the callback program sees each step in aktualizr-lite\'s order, with its environment', async () => {
    const log = join(device.root, 'callbacks.log');
    const program = join(device.root, 'callback.sh');
    await writeFile(program, `#!/bin/sh\necho "$MESSAGE|\${RESULT-(unset)}|\${INSTALL_TARGET_NAME-(unset)}|$CURRENT_TARGET_NAME|$CURRENT_TARGET" >> ${log}\n`, { mode: 0o755 });
    await device.configure('70-callback.toml', `[pacman]\ncallback_program = ${program}\n`);
    const install = await device.cli(['install', ...medium(), '--target', target(2), '--force', '--json']);
    assert.equal(install.code, 101);
    const documents = install.stdout.trim().split('\n').map((line) => JSON.parse(line) as { event?: string; outcome?: string });
    assert.equal(documents.at(-1)?.outcome, 'apps-installed', 'NDJSON events, then the result');
    assert.ok(documents.slice(0, -1).every((document) => document.event !== undefined));
    assert.equal((await device.cli(['run'])).code, 0);
    const currentTarget = join(device.storage, 'current-target');
    assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [
      `check-for-update-pre|(unset)|(unset)|${target(4)}|${currentTarget}`,
      `check-for-update-post|OK|${target(2)}|${target(4)}|${currentTarget}`,
      `download-pre|(unset)|${target(2)}|${target(4)}|${currentTarget}`,
      `download-post|OK|${target(2)}|${target(4)}|${currentTarget}`,
      `install-pre|(unset)|${target(2)}|${target(4)}|${currentTarget}`,
      `install-post|NEEDS_COMPLETION|${target(2)}|${target(4)}|${currentTarget}`,
      `install-final-pre|(unset)|${target(2)}|${target(4)}|${currentTarget}`,
      `install-post|OK|${target(2)}|${target(2)}|${currentTarget}`,
    ]);
    const written = factory.targets.find((candidate) => candidate.name === target(2))!;
    const custom = JSON.parse(await readFile(join(factory.dirs.tuf, 'targets.json'), 'utf8')).signed.targets[target(2)].custom;
    assert.equal(await readFile(currentTarget, 'utf8'), [
      `TARGET_NAME="${written.name}"`, `CUSTOM_VERSION="${written.version}"`, `LMP_MANIFEST_SHA="${custom['lmp-manifest-sha']}"`,
      `META_SUBSCRIBER_OVERRIDES_SHA="${custom['meta-subscriber-overrides-sha']}"`, `CONTAINERS_SHA="${custom['containers-sha']}"`, 'TAG="main"', '',
    ].join('\n'));
  });

  test('a corrupted layer on the medium is refused (70), by install and by check --verify-content, and Docker and the running apps are unchanged', async () => {
    // An app whose images Docker does not have yet (images already present are only tagged, never read).
    const probe = sampleApps.tiny('probe', 7);
    const corrupt = await buildFactory(join(workdir, 'corrupt'), scenarios.basic({
      seed: 'install-run-corrupt',
      targets: [{ hardwareIds, version: 1, apps: [probe] }],
      variants: ['corrupted-blob:probe'],
    }));
    const fresh = await createTestDevice(corrupt);
    try {
      const imagesBefore = await factoryImagesInDocker(corrupt);
      const containersBefore = [...(await projectContainers(STORE)).values()].map((container) => container.id).sort();
      // check follows the hash chains (they hold) and says so; with --verify-content it hashes the layers too.
      const check = await fresh.cli(['check', '--src-dir', corrupt.dirs.medium]);
      assert.equal(check.code, 16, check.stderr);
      assert.match(check.stdout, /^Content {2}the hash chains are verified; 'check --verify-content' also reads and hashes every blob$/m);
      const dryRun = await fresh.cli(['check', '--src-dir', corrupt.dirs.medium, '--verify-content']);
      assert.equal(dryRun.code, 70, dryRun.stderr);
      assert.match(dryRun.stdout, /layer 2 of image hub\.foundries\.io\/acme\/probe of app probe \(blob sha256:[0-9a-f]{64}\): content has digest/);
      assert.deepEqual(await factoryImagesInDocker(corrupt), imagesBefore, 'the dry run loads nothing');
      const install = await fresh.cli(['install', '--src-dir', corrupt.dirs.medium]);
      assert.equal(install.code, 70, install.stderr);
      assert.match(install.stderr, /app probe/);
      assert.deepEqual(await factoryImagesInDocker(corrupt), imagesBefore);
      assert.deepEqual([...(await projectContainers(STORE)).values()].map((container) => container.id).sort(), containersBefore);
      assert.deepEqual(await fresh.state(), { failedTargets: [] });
    } finally {
      await removeTree(fresh.root);
    }
  });
});
