import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type DownloadSpec, type FactoryBuild, type FactoryTargetSpec } from '../../fixtures/factory.js';
import type { BundleManifest } from '../../lib/bundle/manifest.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { createTestDevice, projectContainers, removeComposeProjects, type TestDevice } from '../helpers/device.js';
import { removeDevice, simulatedDevice, type SimulatedDevice } from '../rootfs/helpers.js';

/**
 * Downloads fioctl and the CI leave partial: `--no-apps`, `--tuf-only`, targets whose `fetched-apps.uri` is null, no
 * `<N>.root.json` at all. bundle-create writes what is there and says what a device can install of each target; the
 * bundle then goes through bundle verify and a device's check, install and run.
 */

// App names of this file's own: other test files run compose projects on the same dockerd at the same time.
const APP = 'partapp';
const LATE = 'partlate';
const LMP = 'intel-corei7-64';
const lmpTarget = (version: number) => `${LMP}-lmp-${version}`;

function lmpTargets(): FactoryTargetSpec[] {
  return [
    { hardwareIds: [LMP], version: 1, apps: [sampleApps.tiny(APP, 1)] },
    { hardwareIds: [LMP], version: 2, apps: [sampleApps.tiny(APP, 2)] },
    // The CI fetched no apps for this one: it installs its rootfs alone.
    { hardwareIds: [LMP], version: 3, apps: [sampleApps.tiny(LATE, 3)], fetchedApps: { uri: null } },
  ];
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const installsOf = (manifest: BundleManifest) => Object.fromEntries(manifest.targets.map((target) => [target.name, target.installs]));

describe('partial downloads, host to device', () => {
  let work: string;
  const factories: Record<string, FactoryBuild> = {};
  const roots: string[] = [];

  const lmpFactory = (name: string, download?: DownloadSpec) => buildFactory(join(work, name), scenarios.basic({
    seed: 'bundle-partial',
    device: { type: 'ci', hardwareId: LMP, tag: 'main' },
    targets: lmpTargets(),
    ...(download ? { download } : {}),
  }));

  /** A device with a real sysroot booted into target 1's commit; `snippet` a config file of its own. */
  async function ostreeDevice(factory: FactoryBuild, snippet = ''): Promise<{ device: TestDevice; sysroot: SimulatedDevice }> {
    const commit1 = factories.full!.targets.find((target) => target.name === lmpTarget(1))!.ostreeCommit!;
    const sysroot = await simulatedDevice(factories.full!.dirs.ostreeRepo, commit1);
    const device = await createTestDevice(factory);
    if (snippet) await device.configure('70-test.toml', snippet);
    roots.push(sysroot.root, device.root);
    await device.configure('60-ostree.toml', [
      '[offline]', 'ostree = true', `kernel_cmdline = "${sysroot.config.kernelCmdline}"`, '[bootloader]', `reboot_sentinel_dir = "${sysroot.runtimeDir}"`,
      '[pacman]', `sysroot = "${sysroot.config.sysroot}"`, 'os = "lmp"', '',
    ].join('\n'));
    return { device, sysroot };
  }

  const commitOf = (factory: FactoryBuild, version: number) => factory.targets.find((target) => target.name === lmpTarget(version))!.sha256;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bundle-partial-'));
    const [full, noApps, tufOnly, noRoots] = await Promise.all([
      lmpFactory('full'),
      lmpFactory('no-apps', { apps: false }),
      lmpFactory('tuf-only', { tufOnly: true }),
      buildFactory(join(work, 'no-roots'), scenarios.basic({
        seed: 'bundle-partial-roots',
        tuf: { rootVersion: 2 },
        targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny(APP, 1)] }],
      })),
    ]);
    Object.assign(factories, { full, noApps, tufOnly, noRoots });
  });
  after(async () => {
    await removeComposeProjects([APP, LATE]);
    for (const root of roots) await removeDevice(root);
    await rm(work, { recursive: true, force: true });
  });

  test('fetched-apps.uri null: its target installs the rootfs alone, told so by bundle-create, then by the device (100, reboot, 0)', async () => {
    const factory = factories.full!;
    const bundle = join(work, 'full-bundle');
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const manifest = lastJson(created.stdout).manifest as BundleManifest;
    assert.deepEqual(installsOf(manifest), { [lmpTarget(1)]: 'rootfs and apps', [lmpTarget(2)]: 'rootfs and apps', [lmpTarget(3)]: 'rootfs only' });
    assert.deepEqual(manifest.targets[2]!.apps, [], 'the target carries no app: none was fetched');
    assert.equal(JSON.parse(await readFile(join(bundle, 'bundle.json'), 'utf8')).formatVersion, 2);
    assert.equal((await runCli(['bundle', 'verify', bundle])).code, 0);

    const { device, sysroot } = await ostreeDevice(factory);
    const check = await device.cli(['check', '--src-dir', bundle]);
    assert.equal(check.code, ExitCode.updateAvailable, check.stderr);
    const install = await device.cli(['install', '--src-dir', bundle, '--target', lmpTarget(3)]);
    assert.equal(install.code, ExitCode.rebootRequired, install.stderr);
    assert.deepEqual((await device.state() as { pending?: { parts: { kind: string }[] } }).pending?.parts.map((part) => part.kind), ['rootfs']);
    await sysroot.bootInto(commitOf(factory, 3));
    const run = await device.cli(['run']);
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.equal((await device.state()).current?.name, lmpTarget(3));
    assert.equal((await projectContainers(LATE)).size, 0);
  });

  test('--no-apps: every target rootfs only, the missing apps named; an OSTree device running no app installs it (100, reboot, 0)', async () => {
    const factory = factories.noApps!;
    assert.equal(await stat(factory.dirs.apps).catch(() => undefined), undefined);
    const bundle = join(work, 'no-apps.zip');
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`note: ${lmpTarget(2)}: a device can install rootfs only from this bundle \\(no images of ${APP}\\)`));
    assert.match(created.stdout, new RegExp(`${lmpTarget(2)} \\(version 2\\) for ${LMP}: installs rootfs only: ${APP}`));
    assert.equal((await runCli(['bundle', 'verify', bundle])).code, 0);

    const withApps = await ostreeDevice(factory);
    const missing = await withApps.device.cli(['install', '--src-dir', bundle, '--target', lmpTarget(2)]);
    assert.equal(missing.code, ExitCode.targetNotFound, missing.stderr);
    assert.match(missing.stderr, new RegExp(`needs apps ${APP}`));

    const { device, sysroot } = await ostreeDevice(factory, '[pacman]\ncompose_apps = " "\n');
    const install = await device.cli(['install', '--src-dir', bundle, '--target', lmpTarget(2)]);
    assert.equal(install.code, ExitCode.rebootRequired, install.stderr);
    await sysroot.bootInto(commitOf(factory, 2));
    const run = await device.cli(['run']);
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.equal((await device.state()).current?.name, lmpTarget(2));
  });

  test('--tuf-only: written as metadata only, every target installs nothing; the device verifies it and finds nothing to install (8)', async () => {
    const factory = factories.tufOnly!;
    assert.deepEqual(await readdir(factory.dirs.medium), ['tuf']);
    const bundle = join(work, 'tuf-only-bundle');
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const result = lastJson(created.stdout) as { manifest: BundleManifest; notes: string[] };
    assert.ok(Object.values(installsOf(result.manifest)).every((installs) => installs === 'nothing'));
    assert.ok(result.notes.includes('the download holds TUF metadata only: devices can verify it, and install nothing from it'), result.notes.join('\n'));
    assert.deepEqual((await readdir(bundle)).sort(), ['bundle.json', 'tuf']);

    const { device } = await ostreeDevice(factory);
    const check = await device.cli(['check', '--src-dir', bundle]);
    assert.equal(check.code, ExitCode.contentMissing, check.stderr);
    assert.match(check.stdout, /Metadata verified/);
  });

  test('no <N>.root.json at all: bundle-create warns that devices check the signatures, and the device installs from it (16, 101, 0)', async () => {
    const factory = factories.noRoots!;
    assert.deepEqual((await readdir(factory.dirs.tuf)).filter((name) => name.endsWith('.root.json')), []);
    const bundle = join(work, 'no-roots.tar');
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /has no tuf\/<N>\.root\.json: its signatures cannot be checked here, devices check them against the roots they ship/);
    const verified = await runCli(['bundle', 'verify', bundle]);
    assert.equal(verified.code, 0, verified.stderr);

    const device = await createTestDevice(factory);
    roots.push(device.root);
    assert.equal((await device.cli(['check', '--src-dir', bundle])).code, ExitCode.updateAvailable);
    const install = await device.cli(['install', '--src-dir', bundle]);
    assert.equal(install.code, ExitCode.appsInstalled, install.stderr);
    const run = await device.cli(['run']);
    assert.equal(run.code, ExitCode.ok, run.stderr);
    assert.equal((await projectContainers(APP)).get('service')?.state, 'running');
  });

  test('a download with content but nothing any device can install is refused (8), each target told', async () => {
    const copy = join(work, 'nothing');
    await cp(factories.noApps!.dirs.medium, copy, { recursive: true });
    await rm(join(copy, 'ostree_repo/objects'), { recursive: true });
    const refused = await runCli(['bundle-create', copy, join(work, 'nothing-out')]);
    assert.equal(refused.code, ExitCode.contentMissing, refused.stderr);
    assert.match(refused.stderr, new RegExp(`no device can install anything from download ${copy}: ${lmpTarget(1)}: a device can install nothing from this bundle \\(no images of ${APP}; no rootfs commit ${commitOf(factories.noApps!, 1)} in ostree_repo/\\)`));
    assert.equal(await stat(join(work, 'nothing-out')).catch(() => undefined), undefined);
  });

  test('bundle inspect and verify read a raw fioctl download as they read a bundle: what fioctl show shows, and what each target installs', async () => {
    const factory = factories.full!;
    const inspected = await runCli(['bundle', 'inspect', factory.dirs.medium]);
    assert.equal(inspected.code, 0, inspected.stderr);
    const keyId = factory.tuf.metadata.bundle.signedBy[0]!;
    assert.match(inspected.stdout, /a fioctl download \(no bundle\.json\)/);
    assert.match(inspected.stdout, /type ci, tag main, expires 2036-01-01T00:00:00\.000Z/);
    assert.match(inspected.stdout, new RegExp(`targets: ${lmpTarget(1)}, ${lmpTarget(2)}, ${lmpTarget(3)}`));
    assert.match(inspected.stdout, new RegExp(`signatures: ${keyId}`));
    assert.match(inspected.stdout, new RegExp(`targets keys of root version 4: ${keyId}; threshold 1, 1 valid`));
    assert.match(inspected.stdout, new RegExp(`${lmpTarget(2)} {2}version 2 {2}tags main {2}installs rootfs and apps on linux/amd64 \\([\\d.]+ [KM]iB\\), linux/arm64 \\([\\d.]+ [KM]iB\\): ${APP}`));
    assert.match(inspected.stdout, new RegExp(`${APP}: linux/amd64 [\\d.]+ [KM]iB, linux/arm64 [\\d.]+ [KM]iB`));

    const json = JSON.parse((await runCli(['bundle', 'inspect', factories.noRoots!.dirs.medium, '--json'])).stdout);
    assert.equal(json.bundleTargets.targetsRole, undefined);
    assert.equal(json.writtenBy, undefined);
    assert.deepEqual(json.targets.map((target: { installs: string }) => target.installs), ['apps only']);

    const verified = await runCli(['bundle', 'verify', factory.dirs.medium]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /a fioctl download, as bundle-create checks it: metadata, app chains, and all \d+ blobs intact/);
    const corrupt = join(work, 'corrupt-download');
    await cp(factory.dirs.medium, corrupt, { recursive: true });
    const blob = factory.apps[0]!.images[0]!.platforms.amd64!.layerDigests.at(-1)!.slice(7);
    const path = join(corrupt, 'apps/blobs/sha256', blob);
    const bytes = await readFile(path);
    bytes[bytes.length >> 1]! ^= 0x01;
    await writeFile(path, bytes);
    const refused = await runCli(['bundle', 'verify', corrupt]);
    assert.equal(refused.code, ExitCode.contentVerification, refused.stderr);
    assert.match(refused.stderr, new RegExp(`apps/blobs/sha256/${blob}: sha256 [0-9a-f]{64}, ${blob} expected`));
  });
});
