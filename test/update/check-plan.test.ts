import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { lastJsonDocument } from '../helpers/cli.js';
import { createTestDevice, factoryImagesInDocker, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

// App names of their own: other test files run compose projects on the same dockerd at the same time.
const APP = 'chk-app';
const BROKEN = 'chk-broken';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;

describe('check answers what install would do: the same plan, the same refusals', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-check-plan-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'check-plan',
      targets: [
        { hardwareIds, version: 1, apps: [sampleApps.tiny(APP, 1)] },
        { hardwareIds, version: 2, apps: [sampleApps.tiny(APP, 2)] },
        { hardwareIds, version: 3, apps: [sampleApps.tiny(APP, 3), sampleApps.failing(BROKEN)] },
      ],
    }));
    device = await createTestDevice(factory);
  });
  after(async () => {
    await removeComposeProjects([APP, BROKEN]);
    await removeTree(device.root);
    await removeTree(workdir);
  });

  const check = (...args: string[]) => device.cli(['check', '--src-dir', factory.dirs.medium, ...args]);

  // First: the images are not in Docker yet.
  test('the space an install would take, against the watermark, and with --verify-content every blob hashed, nothing loaded', async () => {
    const fresh = await createTestDevice(factory);
    try {
      const dryRun = await fresh.cli(['check', '--src-dir', factory.dirs.medium, '--verify-content', '--json']);
      assert.equal(dryRun.code, 16, dryRun.stderr);
      const { space, content, plan } = lastJsonDocument(dryRun.stdout);
      assert.equal(plan.target.name, target(3));
      assert.equal(space.watermarkPercent, 80);
      assert.ok(space.filesystems.length > 0 && space.filesystems.every((filesystem: { fits: boolean; bytes: number; allowed: number }) => filesystem.fits && filesystem.bytes > 0 && filesystem.allowed > 0));
      assert.ok(space.filesystems.some((filesystem: { what: string[] }) => filesystem.what.some((what) => /^[\d.]+ \w+ for container images: \d of 2 to load \([\d.]+ \w+\) and their layers extracted$/.test(what))), JSON.stringify(space));
      const blobs = new Set(factory.apps.filter((app) => factory.targets[2]!.apps.some((wanted) => wanted.uri === app.uri))
        .flatMap((app) => [app.manifestDigest, app.archiveDigest, ...app.images.flatMap((image) => [image.platforms.amd64!.manifestDigest, image.platforms.amd64!.configDigest, ...image.platforms.amd64!.layerDigests])]));
      assert.ok(content.blobs >= blobs.size, `${content.blobs} blobs hashed, the apps have at least ${blobs.size}`);
      const human = await fresh.cli(['check', '--src-dir', factory.dirs.medium, '--verify-content']);
      assert.match(human.stdout, /^Content {2}\d+ blob\(s\), [\d.]+ \w+, read and hashed: intact$/m);
      assert.match(human.stdout, new RegExp(`^Plan {5}${target(3)} \\(version 3\\): ${APP} new, ${BROKEN} new$`, 'm'));
      assert.match(human.stderr, /verify content: chk-app: chk-app: verified \([\d.]+ \w+\) \[1\/2\]/);
      assert.deepEqual(await factoryImagesInDocker(factory), [], 'nothing loaded');
    } finally {
      await removeTree(fresh.root);
    }
  });

  test('a downgrade, another installation pending, a target that failed before: refused by check as by install, planned with --force', async () => {
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(2)])).code, 101);
    assert.equal((await device.cli(['run'])).code, 0);

    // A downgrade.
    const downgrade = await check('--target', target(1));
    assert.equal(downgrade.code, 102, downgrade.stderr);
    assert.match(downgrade.stdout, new RegExp(`^${target(1)} \\* +1 +${APP} +older: install --force to downgrade$`, 'm'));
    assert.match(downgrade.stdout, new RegExp(`target ${target(1)} \\(version 1\\) is older than the current ${target(2)} \\(version 2\\): use --force to downgrade$`, 'm'));
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium, '--target', target(1)])).code, 102, 'install agrees');
    const forced = await check('--target', target(1), '--force', '--json');
    assert.equal(forced.code, 16, forced.stderr);
    assert.deepEqual(lastJsonDocument(forced.stdout).plan.parts, [{ kind: 'apps', changes: [{ name: APP, kind: 'updated', from: { name: APP, uri: factory.targets[1]!.apps[0]!.uri }, to: { name: APP, uri: factory.targets[0]!.apps[0]!.uri } }] }]);

    // Another installation pending.
    assert.equal((await device.cli(['install', '--src-dir', factory.dirs.medium])).code, 101);
    const pending = await check('--target', target(1), '--force');
    assert.equal(pending.code, 30, pending.stderr);
    assert.match(pending.stdout, new RegExp(`target ${target(3)} is installed and waits for 'fioup-offline run'; run it first$`, 'm'));
    const resumed = await check('--json');
    assert.equal(resumed.code, 16, 'the staged target itself: install would resume it');
    assert.equal(lastJsonDocument(resumed.stdout).plan.target.name, target(3));
    // A rollback left pending (dockerd died under run): install refuses anything until run completes it, and so does check.
    const statePath = join(device.storage, 'fioup-offline', 'state.json');
    const staged = await readFile(statePath, 'utf8');
    await writeFile(statePath, staged.replace('"phase": "staged"', '"phase": "rolling-back"'));
    assert.deepEqual([(await check()).code, (await device.cli(['install', '--src-dir', factory.dirs.medium])).code], [30, 30]);
    await writeFile(statePath, staged);

    // A target that failed before.
    assert.equal((await device.cli(['run'])).code, 99, 'the broken app does not start: rolled back');
    const failed = await check();
    assert.equal(failed.code, 102, failed.stderr);
    assert.match(failed.stdout, new RegExp(`^${target(3)} \\* +3 +${APP},${BROKEN} +failed before: install --force to retry$`, 'm'));
    assert.match(failed.stdout, new RegExp(`^${target(1)} +1 +${APP} +older: install --force to downgrade$`, 'm'));
    assert.match(failed.stdout, new RegExp(`^${target(2)} +2 +${APP} +current$`, 'm'));
    assert.match(failed.stdout, new RegExp(`target ${target(3)} failed to start before and was rolled back: use --force to try it again$`, 'm'));
    const install = await device.cli(['install', '--src-dir', factory.dirs.medium]);
    assert.equal(install.code, 102, install.stderr);
    const retry = await check('--force', '--json');
    assert.equal(retry.code, 16, retry.stderr);
    const retried = lastJsonDocument(retry.stdout);
    assert.equal(retried.plan.description, `${APP} updated, ${BROKEN} new`);
    assert.deepEqual(retried.targets.map((row: { name: string; installable: boolean }) => [row.name, row.installable]), [[target(3), true], [target(2), false], [target(1), true]]);
    assert.deepEqual(await device.state().then((state) => [state.current?.name, state.pending]), [target(2), undefined], 'check changed nothing');
  });
});
