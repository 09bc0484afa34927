import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { platformOfArch } from '../../lib/apps/platform.js';
import { ContentMissingError, TargetNotFoundError } from '../../lib/errors.js';
import { exitCodeForError, exitCodeForOutcome, ExitCode } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { DeviceTrustStore } from '../../lib/tuf/device-trust.js';
import { verifyMedium, type VerifiedMedium } from '../../lib/tuf/verify-medium.js';
import type { Selection, SelectionDevice } from '../../lib/targets/selection.js';
import { requireInstallableTarget } from '../../lib/targets/verdict.js';
import { evaluateMedium } from '../../lib/update/inspect-medium.js';
import { buildFactory, scenarios, type FactoryBuild, type FactorySpec } from '../../fixtures/factory.js';
import { sampleApps } from '../../fixtures/apps/index.js';
import { referenceNow, Workspace } from '../tuf/helpers.js';

const workspace = new Workspace();
after(() => workspace.cleanUp());

interface Built {
  build: FactoryBuild;
  medium: DirectoryMedium;
  verified: VerifiedMedium;
}

async function build(label: string, spec: FactorySpec): Promise<Built> {
  const build = await buildFactory(await workspace.dir(label), spec);
  const medium = new DirectoryMedium(build.dirs.medium);
  const trust = await new DeviceTrustStore({ rootsDir: join(build.dirs.device, 'roots'), deviceType: spec.device.type, storageDir: join(build.dirs.device, 'storage') }).load();
  const verified = await verifyMedium(medium, trust, { deviceType: spec.device.type, tags: [spec.device.tag] }, referenceNow);
  return { build, medium, verified };
}

const amd64: SelectionDevice = { hardwareId: 'amd64-linux', tags: ['main'] };

/** The verdict of `check` as an exit code, whether it returns or throws, on a device whose apps run and no target failed. */
function checkExitCode(selection: Selection): number {
  try {
    const { relation } = requireInstallableTarget(selection).row;
    return exitCodeForOutcome(relation === 'newer' || relation === 'no-current' ? 'update-available' : 'up-to-date');
  } catch (error) {
    return exitCodeForError(error);
  }
}

function row(selection: Selection, name: string) {
  const found = selection.rows.find((candidate) => candidate.name === name);
  assert.ok(found, `no row for ${name}`);
  return found;
}

describe('target selection on a factory bundle', () => {
  let basic: Built;
  before(async () => {
    basic = await build('basic', scenarios.basic());
  });

  test('a newer target is selected and reported available (16); other hardware ids are reported', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, { ...amd64, currentTarget: { name: 'amd64-linux-lmp-1', version: 1 } });
    assert.equal(selection.selected?.name, 'amd64-linux-lmp-2');
    assert.equal(selection.selected?.installable, true);
    assert.deepEqual(selection.selected?.requiredApps, selection.selectedTarget?.apps.map((app) => app.name));
    assert.ok(selection.selected!.requiredApps.length >= 2);
    assert.deepEqual(row(selection, 'amd64-linux-lmp-1').reasons, ['same-as-current']);
    assert.deepEqual(row(selection, 'raspberrypi4-64-lmp-2').reasons, ['wrong-hardware-id']);
    assert.equal(checkExitCode(selection), ExitCode.updateAvailable);
  });

  test('nothing newer than the current target (0)', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, { ...amd64, currentTarget: { name: 'amd64-linux-lmp-2', version: 2 } });
    assert.deepEqual(selection.selected?.reasons, ['same-as-current']);
    assert.equal(checkExitCode(selection), ExitCode.ok);
  });

  test('a requested older target is reported as a downgrade', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, { ...amd64, currentTarget: { name: 'amd64-linux-lmp-2', version: 2 } }, 'amd64-linux-lmp-1');
    assert.equal(selection.selected?.name, 'amd64-linux-lmp-1');
    assert.equal(selection.selected?.relation, 'older');
    assert.deepEqual(selection.selected?.reasons, ['older-than-current']);
    assert.equal(selection.selected?.contentPresent, true);
    assert.equal(selection.selected?.installable, false);
  });

  test('a requested target that does not exist is exit 20', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, amd64, 'amd64-linux-lmp-9');
    assert.equal(selection.selected, undefined);
    assert.throws(() => requireInstallableTarget(selection), (error: unknown) =>
      error instanceof TargetNotFoundError && exitCodeForError(error) === ExitCode.targetNotFound && /not in the trusted targets/.test(error.message));
  });

  test('a requested target for other hardware is not installable on this device (20), as aklite-offline answers for --target', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, amd64, 'raspberrypi4-64-lmp-2');
    assert.equal(checkExitCode(selection), ExitCode.targetNotFound);
    assert.throws(() => requireInstallableTarget(selection), /'raspberrypi4-64-lmp-2' cannot be installed from this medium \(target 'raspberrypi4-64-lmp-2': wrong-hardware-id\)/);
  });

  test('a device following another tag finds no target (6)', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, { ...amd64, tags: ['devel'] });
    assert.deepEqual(row(selection, 'amd64-linux-lmp-2').reasons, ['wrong-tag']);
    assert.equal(checkExitCode(selection), ExitCode.noMatchingTarget);
  });

  test('a device whose hardware id no target lists finds none (6)', async () => {
    const selection = await evaluateMedium(basic.medium, basic.verified, { hardwareId: 'intel-corei7-64', tags: ['main'] });
    assert.equal(selection.selected, undefined);
    assert.equal(checkExitCode(selection), ExitCode.noMatchingTarget);
  });

  test('an app missing from the medium: an older complete target is chosen, else content missing (8)', async () => {
    const copy = await workspace.dir('missing-app');
    await cp(basic.build.dirs.medium, copy, { recursive: true });
    const medium = new DirectoryMedium(copy);
    const apps = (await evaluateMedium(medium, basic.verified, amd64)).selectedTarget!.apps;
    const [newWeb, sharedHealth] = ['web', 'health'].map((name) => apps.find((app) => app.name === name));
    await rm(join(copy, 'apps/apps', newWeb!.name, newWeb!.manifestHex), { recursive: true });

    const fallback = await evaluateMedium(medium, basic.verified, amd64);
    assert.deepEqual(row(fallback, 'amd64-linux-lmp-2').missingApps, [newWeb!.name]);
    assert.ok(row(fallback, 'amd64-linux-lmp-2').reasons.includes('apps-missing'));
    assert.equal(fallback.selected?.name, 'amd64-linux-lmp-1');
    // Named with --target, the incomplete target is not installable from this medium (20); the complete one is.
    const named = await evaluateMedium(medium, basic.verified, amd64, 'amd64-linux-lmp-2');
    assert.equal(checkExitCode(named), ExitCode.targetNotFound);
    assert.throws(() => requireInstallableTarget(named), new RegExp(`needs apps ${newWeb!.name}, which the medium does not hold`));
    assert.equal(checkExitCode(await evaluateMedium(medium, basic.verified, amd64, 'amd64-linux-lmp-1')), ExitCode.updateAvailable);

    // The health app is the same in both targets: without it neither is complete.
    await rm(join(copy, 'apps/apps', sharedHealth!.name, sharedHealth!.manifestHex), { recursive: true });
    const selection = await evaluateMedium(medium, basic.verified, amd64);
    assert.equal(selection.selected?.name, 'amd64-linux-lmp-2');
    assert.deepEqual(selection.selected?.missingApps, [newWeb!.name, sharedHealth!.name].sort(), 'in the order of the target, whose keys canonical JSON sorts');
    assert.equal(checkExitCode(selection), ExitCode.contentMissing);
    assert.throws(() => requireInstallableTarget(selection), (error: unknown) => error instanceof ContentMissingError && error.message.includes(sharedHealth!.name));

    // Apps the device does not run are not needed.
    assert.equal(checkExitCode(await evaluateMedium(medium, basic.verified, { ...amd64, composeApps: { kind: 'none' } })), ExitCode.updateAvailable);
    const onlyWeb = await evaluateMedium(medium, basic.verified, { ...amd64, composeApps: { kind: 'listed', names: [newWeb!.name] } });
    assert.deepEqual(row(onlyWeb, 'amd64-linux-lmp-2').missingApps, [newWeb!.name]);
    assert.equal(onlyWeb.selected?.name, 'amd64-linux-lmp-1');
  });

  test('an app the medium holds without the device\'s platform: the target is not complete, the platform named (8)', async () => {
    const copy = await workspace.dir('without-platform');
    await cp(basic.build.dirs.medium, copy, { recursive: true });
    const medium = new DirectoryMedium(copy);
    const newWeb = (await evaluateMedium(medium, basic.verified, amd64)).selectedTarget!.apps.find((app) => app.name === 'web');
    const web = basic.build.apps.find((app) => app.uri === newWeb!.uri)!;
    // The CI copied arm64 only: the amd64 manifest of the app's first image is not in the download.
    await rm(join(copy, 'apps/blobs/sha256', web.images[0]!.platforms.amd64!.manifestDigest.slice(7)));

    const withoutPlatform = await evaluateMedium(medium, basic.verified, amd64, undefined, platformOfArch('x64'));
    const target = row(withoutPlatform, 'amd64-linux-lmp-2');
    assert.deepEqual(target.missingApps, []);
    assert.deepEqual(target.platformMissing, { platform: 'linux/amd64', apps: [newWeb!.name] });
    assert.ok(target.reasons.includes('platform-missing'));
    assert.equal(withoutPlatform.selected?.name, 'amd64-linux-lmp-1', 'the older complete target is chosen');
    const requested = await evaluateMedium(medium, basic.verified, amd64, 'amd64-linux-lmp-2', platformOfArch('x64'));
    // Named with --target, a target not installable from the medium is 20 (aklite-offline), the reason kept.
    assert.throws(() => requireInstallableTarget(requested), (error: unknown) => error instanceof TargetNotFoundError && exitCodeForError(error) === ExitCode.targetNotFound &&
      error.message.includes(`needs linux/amd64 images of apps ${newWeb!.name}, which the medium does not hold`));
    assert.equal(row(await evaluateMedium(medium, basic.verified, amd64, undefined, platformOfArch('arm64')), 'amd64-linux-lmp-2').platformMissing, undefined);
  });
});

describe('rootfs and bundle lists', () => {
  let rpi: Built;
  const rpiDevice: SelectionDevice = { hardwareId: 'raspberrypi4-64', tags: ['main'], ostree: { bootedCommit: '00'.repeat(32) } };
  before(async () => {
    rpi = await build('rpi', scenarios.basic({
      device: { type: 'ci', hardwareId: 'raspberrypi4-64', tag: 'main' },
      targets: [
        { hardwareIds: ['raspberrypi4-64'], version: 3, apps: [] },
        { hardwareIds: ['raspberrypi4-64', 'raspberrypi3-64'], version: 4, apps: [sampleApps.healthchecked()] },
        { hardwareIds: ['raspberrypi4-64'], version: 5, apps: [], inBundle: false },
      ],
    }));
  });

  test('targets for several hardware ids, a target left out of the bundle, and the rootfs commit present', async () => {
    const selection = await evaluateMedium(rpi.medium, rpi.verified, rpiDevice);
    assert.deepEqual(selection.rows.map((r) => r.name), ['raspberrypi4-64-lmp-5', 'raspberrypi4-64-lmp-4', 'raspberrypi4-64-lmp-3']);
    assert.deepEqual(row(selection, 'raspberrypi4-64-lmp-5').reasons, ['not-in-bundle']);
    assert.equal(selection.selected?.name, 'raspberrypi4-64-lmp-4');
    assert.equal(selection.selected?.rootfsCommit, rpi.build.targets.find((t) => t.version === 4)!.ostreeCommit);
    assert.equal(checkExitCode(selection), ExitCode.updateAvailable);
    // Another device of the target's hardware ids sees it too.
    assert.equal((await evaluateMedium(rpi.medium, rpi.verified, { ...rpiDevice, hardwareId: 'raspberrypi3-64' })).selected?.name, 'raspberrypi4-64-lmp-4');
  });

  test('a missing rootfs commit: an older complete target is chosen, else content missing (8)', async () => {
    const copy = await workspace.dir('missing-commit');
    await cp(rpi.build.dirs.medium, copy, { recursive: true });
    const commitOf = (version: number) => rpi.build.targets.find((t) => t.version === version)!.ostreeCommit!;
    const removeCommit = (commit: string) => rm(join(copy, 'ostree_repo/objects', commit.slice(0, 2), `${commit.slice(2)}.commit`));
    const medium = new DirectoryMedium(copy);

    await removeCommit(commitOf(4));
    const fallback = await evaluateMedium(medium, rpi.verified, rpiDevice);
    assert.ok(row(fallback, 'raspberrypi4-64-lmp-4').reasons.includes('rootfs-missing'));
    assert.equal(fallback.selected?.name, 'raspberrypi4-64-lmp-3');

    await removeCommit(commitOf(3));
    const selection = await evaluateMedium(medium, rpi.verified, rpiDevice);
    assert.equal(selection.selected?.name, 'raspberrypi4-64-lmp-4');
    assert.equal(checkExitCode(selection), ExitCode.contentMissing);
    assert.throws(() => requireInstallableTarget(selection), (error: unknown) => error instanceof ContentMissingError && error.message.includes(commitOf(4)));

    // A container-only device does not install the rootfs; one booted on the target's commit has nothing to install.
    const { ostree: _ignored, ...containerOnly } = rpiDevice;
    assert.equal(checkExitCode(await evaluateMedium(medium, rpi.verified, containerOnly)), ExitCode.updateAvailable);
    assert.equal((await evaluateMedium(medium, rpi.verified, { ...rpiDevice, ostree: { bootedCommit: commitOf(4) } })).selected?.rootfsCommit, undefined);
  });
});

describe('stale bundle', () => {
  test('only targets the device already trusts qualify', async () => {
    const built = await build('stale', scenarios.basic({ variants: ['rollback'] }));
    assert.equal(built.verified.usedStoredMetadata, true);
    const selection = await evaluateMedium(built.medium, built.verified, amd64);
    assert.equal(selection.selected?.name, 'amd64-linux-lmp-2');
    assert.match(built.verified.targets.fileName, /storage/);
  });
});

describe('the aktualizr sample targets', () => {
  test('its one target carries no hardware ids: no target for the device (6)', async () => {
    const dir = await workspace.dir('sample1');
    await mkdir(join(dir, 'tuf'), { recursive: true });
    const samples = '/work/shared/reference/samples/aktualizr-tuf/sample1';
    for (const name of ['timestamp.json', 'snapshot.json', 'targets.json']) await cp(join(samples, name), join(dir, 'tuf', name));
    const medium = new DirectoryMedium(dir);
    const verified = await verifyMedium(medium, { roots: [{ fileName: 'root.json', bytes: await readFile(join(samples, 'root.json')) }], previous: {} }, { deviceType: 'ci', tags: [] }, referenceNow);
    const selection = await evaluateMedium(medium, verified, { hardwareId: 'abc-def', tags: [] });
    assert.equal(checkExitCode(selection), ExitCode.noMatchingTarget);
  });
});
