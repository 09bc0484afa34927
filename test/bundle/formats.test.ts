import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keepDownloadedPlatforms, type AppSpec, type ImageSpec, type WrittenApp } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import type { BundleManifest } from '../../lib/bundle/manifest.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { createTestDevice, projectContainers, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

/**
 * Every shape of app and image the factory's CI and composeapp produce, through bundle-create, bundle verify, and a
 * device's check, install and run on the real dockerd. Run on Docker 26 by default, on Docker 20.10 with
 * FIOUP_TEST_ENGINE=docker20, where zstd layers are refused before anything is loaded.
 */

const docker20 = process.env.FIOUP_TEST_ENGINE === 'docker20';
const hardwareIds = ['amd64-linux'];
const targetName = (version: number) => `amd64-linux-lmp-${version}`;
const SLEEP = ['sh', '-c', 'while true; do sleep 3600; done'];

function shapedApp(name: string, app: Partial<AppSpec> = {}, image: Partial<ImageSpec> = {}): AppSpec {
  return { name, services: [{ name: 'service', image: { name, files: [{ path: 'etc/shape', content: `${name}\n` }], cmd: SLEEP, ...image } }], ...app };
}

// App names of this file's own: other test files run compose projects on the same dockerd at the same time.
const V1_APPS = [
  shapedApp('fmtdocker', {}, { format: { manifests: 'docker' } }),
  shapedApp('fmtplain', {}, { format: { compression: 'none' } }),
  shapedApp('fmtsingle', {}, { format: { singlePlatform: true } }),
  shapedApp('fmtdockersingle', {}, { format: { manifests: 'docker', compression: 'none', singlePlatform: true } }),
  shapedApp('fmtlegacy', { manifestShape: 'legacy' }),
  shapedApp('fmtnoindex', { manifestShape: 'no-archive-index' }),
];
const ZSTD = shapedApp('fmtzstd', {}, { format: { compression: 'zstd' } });
const ARM_ONLY = shapedApp('fmtarm', {}, { platforms: ['arm64'] });
const AMD64_NOT_FETCHED = shapedApp('fmtgone');
const PROJECTS = [...V1_APPS, ZSTD, ARM_ONLY, AMD64_NOT_FETCHED].map((app) => app.name);

describe('image and app shapes of real downloads, host to device', () => {
  let work: string;
  let factory: FactoryBuild;
  let device: TestDevice;
  let bundle: string;
  const written = (name: string): WrittenApp => factory.apps.find((app) => app.name === name)!;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bundle-formats-'));
    factory = await buildFactory(join(work, 'factory'), scenarios.basic({
      seed: 'bundle-formats',
      targets: [
        { hardwareIds, version: 1, apps: V1_APPS },
        { hardwareIds, version: 2, apps: [...V1_APPS, ZSTD] },
        { hardwareIds, version: 3, apps: [ARM_ONLY] },
        { hardwareIds, version: 4, apps: [AMD64_NOT_FETCHED] },
      ],
    }));
    // The CI copied the device's platform of each image, and only arm64 of the last one; indexes stay as published.
    await keepDownloadedPlatforms(factory.dirs.apps, [...V1_APPS, ZSTD].map((app) => written(app.name)), ['amd64']);
    await keepDownloadedPlatforms(factory.dirs.apps, [written(AMD64_NOT_FETCHED.name)], ['arm64']);
    device = await createTestDevice(factory);
    bundle = join(work, 'bundle.tar');
  });
  after(async () => {
    await removeComposeProjects(PROJECTS);
    await removeTree(device.root);
    await rm(work, { recursive: true, force: true });
  });

  test('bundle-create keeps the partial download and says per target which platforms it can install', async () => {
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const manifest = JSON.parse(created.stdout.trim().split('\n').at(-1)!).manifest as BundleManifest;
    const platforms = (version: number) => manifest.targets.find((target) => target.name === targetName(version))!.platforms.map((entry) => entry.platform);
    assert.deepEqual([1, 2, 3, 4].map(platforms), [['linux/amd64'], ['linux/amd64'], ['linux/arm64'], ['linux/arm64']]);
    assert.ok(manifest.targets.every((target) => target.installs === 'apps only'), JSON.stringify(manifest.targets.map((target) => target.installs)));
    const legacy = manifest.targets[0]!.apps.find((app) => app.name === 'fmtlegacy')!;
    assert.equal(legacy.platforms[0]!.bytes > 0, true);

    const verified = await runCli(['bundle', 'verify', bundle]);
    assert.equal(verified.code, 0, verified.stderr);
    const inspected = await runCli(['bundle', 'inspect', bundle]);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.match(inspected.stdout, new RegExp(`${targetName(3)} {2}version 3 {2}tags main {2}installs apps only on linux/arm64 \\(`));
    assert.match(inspected.stdout, /fmtzstd: linux\/amd64 \d/);
  });

  test('check: the newest complete target for linux/amd64; a target whose images lack it is not installable (20 when named), the platform named', async () => {
    const check = await device.cli(['check', '--src-dir', bundle]);
    assert.equal(check.code, ExitCode.updateAvailable, check.stderr);
    assert.match(check.stdout, new RegExp(`${targetName(2)} \\*`));
    for (const [version, app] of [[3, ARM_ONLY.name], [4, AMD64_NOT_FETCHED.name]] as const) {
      // Named with --target: not installable from this medium (20, as aklite-offline), the reason kept.
      const missing = await device.cli(['check', '--src-dir', bundle, '--target', targetName(version)]);
      assert.equal(missing.code, ExitCode.targetNotFound, missing.stderr);
      assert.match(missing.stdout, new RegExp(`target '${targetName(version)}' needs linux/amd64 images of apps ${app}, which the medium does not hold`));
      assert.match(missing.stdout, /platform-missing/);
      const install = await device.cli(['install', '--src-dir', bundle, '--target', targetName(version)]);
      assert.equal(install.code, ExitCode.targetNotFound, install.stderr);
      assert.match(install.stderr, /linux\/amd64 images of apps/);
    }
  });

  test('install and run: Docker lists and single manifests, OCI plain layers, single-platform images, old app manifests', async () => {
    const install = await device.cli(['install', '--src-dir', bundle, '--target', targetName(1)]);
    assert.equal(install.code, ExitCode.appsInstalled, install.stderr);
    const run = await device.cli(['run']);
    assert.equal(run.code, ExitCode.ok, run.stderr);
    for (const app of V1_APPS) {
      const service = (await projectContainers(app.name)).get('service');
      assert.equal(service?.state, 'running', app.name);
      assert.equal(service?.imageId, written(app.name).images[0]!.platforms.amd64!.configDigest, app.name);
    }
  });

  test(docker20 ? 'zstd layers on Docker 20.10: refused before anything is loaded, the engine named (80), nothing changed' : 'zstd layers: installed and run', async () => {
    const install = await device.cli(['install', '--src-dir', bundle, '--target', targetName(2)]);
    if (docker20) {
      assert.equal(install.code, ExitCode.imageLoad, install.stderr);
      assert.match(install.stderr, /layer 1 of image hub\.foundries\.io\/acme\/fmtzstd of app fmtzstd is zstd-compressed \(application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd\), which Docker 20\.10\.\d+\S* cannot load: it needs Docker 23\.0 or newer/);
      assert.equal((await device.state()).current?.name, targetName(1));
      assert.equal((await device.state()).pending, undefined);
      assert.equal((await projectContainers(ZSTD.name)).size, 0);
      return;
    }
    assert.equal(install.code, ExitCode.appsInstalled, install.stderr);
    const run = await device.cli(['run']);
    assert.equal(run.code, ExitCode.ok, run.stderr);
    const service = (await projectContainers(ZSTD.name)).get('service');
    assert.equal(service?.state, 'running');
    assert.equal(service?.imageId, written(ZSTD.name).images[0]!.platforms.amd64!.configDigest);
  });
});
