import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild, type FactorySpec } from '../../fixtures/factory.js';
import { writeOstreeCommit } from '../../fixtures/ostree/index.js';
import { Scenario, scenarioTargets } from '../helpers/aklite-scenario.js';
import { removeCommitFromMedium } from '../helpers/lmp-device.js';
import { removeDevice } from '../rootfs/helpers.js';

// The check-in scenarios of aktualizr-lite's tests/aklite_offline_test.cc: what `check` and `install` answer for the
// metadata and the content of a medium. App names of their own: other test files run compose projects at the same time.
const { tiny } = sampleApps;
const SEED = 'aklite-check';

function targets() {
  return [
    ...scenarioTargets('ak-bundle', [{ version: 2, apps: [tiny('akbm-01', 2)] }, { version: 3, apps: [tiny('akbm-01', 3)] }]),
    ...scenarioTargets('ak-security', [{ version: 2, apps: [tiny('aksec-01', 2)] }, { version: 3, apps: [tiny('aksec-01', 3)] }]),
    ...scenarioTargets('ak-no-content', [{ version: 2, apps: [tiny('aknc-01', 2)] }, { version: 3, apps: [tiny('aknc-01', 3)] }]),
    ...scenarioTargets('ak-invalid-ostree', [{ version: 2, apps: [tiny('akio-01', 2)] }, { version: 3, apps: [tiny('akio-01', 3)] }]),
    ...scenarioTargets('ak-invalid-apps', [{ version: 2, apps: [tiny('akia-01', 2)] }, { version: 3, apps: [tiny('akia-02', 3)] }]),
  ];
}

function spec(overrides: Partial<FactorySpec>): FactorySpec {
  return scenarios.basic({ seed: SEED, device: { type: 'ci', hardwareId: 'ak-bundle', tag: 'main' }, targets: targets(), ...overrides });
}

describe('aklite_offline_test.cc: check-in against the medium', () => {
  let workdir: string;
  let factory: FactoryBuild;
  /** The rootfs of the factory image the devices boot first: no target has it. */
  let imageRootfs: { repo: string; commit: string };
  const started: Scenario[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-aklite-check-'));
    factory = await buildFactory(join(workdir, 'factory'), spec({ tuf: { rootVersion: 4, rotations: { root: [3] }, metadataVersion: 6 } }));
    const repo = join(workdir, 'image-rootfs');
    imageRootfs = { repo, commit: await writeOstreeCommit(repo, { version: 'image', seed: SEED }) };
  });
  after(async () => {
    for (const scenario of started) await scenario.cleanUp();
    await removeDevice(workdir);
  });

  async function start(hardwareId: string, toml = ''): Promise<Scenario> {
    const scenario = await Scenario.start(factory, hardwareId, { bootedCommit: imageRootfs.commit, repo: imageRootfs.repo, toml });
    started.push(scenario);
    return scenario;
  }

  test('OfflineClientInvalidBundleMeta: bundle-targets.json changed after signing: check and install answer 15, check-for-update-post says FAILED', async () => {
    const log = join(workdir, 'bundle-callbacks.log');
    const program = join(workdir, 'callback.sh');
    await writeFile(program, `#!/bin/sh\necho "$MESSAGE\${RESULT+ $RESULT}" >> ${log}\n`, { mode: 0o755 });
    const scenario = await start('ak-bundle', `[pacman]\ncallback_program = ${program}\n`);
    await scenario.useMediumCopy(workdir);
    const path = join(scenario.medium, 'tuf/bundle-targets.json');
    const bundle = JSON.parse(await readFile(path, 'utf8'));
    bundle.signed.foo = 'bar';
    await writeFile(path, JSON.stringify(bundle));
    for (const command of [() => scenario.check(), () => scenario.install()]) {
      const result = await command();
      assert.equal(result.code, 15, result.stderr);
      assert.match(result.stderr, /bundle-targets\.json: 0 valid signature\(s\) from the targets keys/);
    }
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    assert.deepEqual(lines.map((line) => line.replace(/FAILED: .*/, 'FAILED: <why>')), [
      'check-for-update-pre', 'check-for-update-post FAILED: <why>', 'check-for-update-pre', 'check-for-update-post FAILED: <why>',
    ]);
    assert.match(lines[1]!, /FAILED: .*bundle-targets\.json/);
    assert.deepEqual(await scenario.device.state(), { failedTargets: [] }, 'nothing recorded');
  });

  test('OfflineClientCheckinSecurityError: a medium older than what the device trusts: its targets are taken from the stored metadata (16), then 3 once installed', async () => {
    const outdated = await buildFactory(join(workdir, 'outdated'), spec({
      targets: scenarioTargets('ak-security', [{ version: 2, apps: [tiny('aksec-01', 2)] }]),
      tuf: { rootVersion: 4, rotations: { root: [3] }, metadataVersion: 5 },
    }));
    assert.deepEqual(outdated.targets[0]!.apps, factory.targets.find((target) => target.name === 'ak-security-lmp-2')!.apps, 'the same apps, pinned the same');
    const scenario = await start('ak-security');
    // The device takes the newer metadata (aklite-offline's check stores it; here install does).
    const install = await scenario.install(['--target', scenario.target(2)]);
    assert.equal(install.code, 100, install.stderr);

    // The medium's content, with the older metadata.
    const medium = await scenario.useMediumCopy(workdir);
    await rm(join(medium, 'tuf'), { recursive: true });
    await cp(outdated.dirs.tuf, join(medium, 'tuf'), { recursive: true });
    const check = await scenario.check();
    assert.equal(check.code, 16, check.stderr);
    assert.match(check.stderr, /version 5 is older than the version 6 this device already trusts.*using the device's stored metadata/);
    await scenario.reboot(2);
    assert.equal((await scenario.run()).code, 0);
    const cached = await scenario.check();
    assert.equal(cached.code, 3, cached.stderr);
    assert.match(cached.stdout, /the medium's metadata is older than the device's, whose stored metadata is valid/);
    assert.equal((await scenario.install()).code, 0, 'installed already');
    assert.equal((await scenario.current()).name, scenario.target(2));
  });

  test('OfflineClientCheckinMetadataNotFound: a medium with no TUF metadata answers 14', async () => {
    const scenario = await start('ak-bundle');
    const empty = join(workdir, 'no-tuf');
    await mkdir(join(empty, 'apps'), { recursive: true });
    assert.equal((await scenario.cli(['check', '--src-dir', empty])).code, 14);
    assert.equal((await scenario.cli(['check', '--src-dir', join(workdir, 'nowhere')])).code, 14);
    await scenario.useMediumCopy(workdir);
    await rm(join(scenario.medium, 'tuf/timestamp.json'));
    const check = await scenario.check();
    assert.equal(check.code, 14, check.stderr);
    assert.match(check.stderr, /tuf\/timestamp\.json not found/);
    assert.equal((await scenario.install()).code, 14);
  });

  test('OfflineClientCheckinExpiredMetadata: expired metadata answers 12', async () => {
    const expired = await buildFactory(join(workdir, 'expired'), spec({
      targets: scenarioTargets('ak-expired', [{ version: 2, apps: [] }]),
      variants: ['expired-targets'],
    }));
    const scenario = await start('ak-expired');
    scenario.medium = expired.dirs.medium;
    const check = await scenario.check();
    assert.equal(check.code, 12, check.stderr);
    assert.match(check.stderr, /targets\.json: expired at 2025-01-01/);
    assert.equal((await scenario.install()).code, 12);
  });

  test('OfflineClientCheckinCheckinNoMatchingTargets: no target for the device\'s hardware id answers 6', async () => {
    const scenario = await start('some-other-hw-id');
    assert.equal((await scenario.check()).code, 6);
    const install = await scenario.install();
    assert.equal(install.code, 6, install.stderr);
    assert.match(install.stderr, /no target on the medium is for this device/);
  });

  test('OfflineClientCheckinCheckinNoTargetContent: no target\'s apps are on the medium: 8', async () => {
    const scenario = await start('ak-no-content');
    await scenario.useMediumWithout(workdir, ['aknc-01']);
    assert.equal((await scenario.check()).code, 8);
    const install = await scenario.install();
    assert.equal(install.code, 8, install.stderr);
    assert.match(install.stderr, /needs apps aknc-01, which the medium does not hold/);
  });

  test('InvalidTargetInstallOstree: a target whose commit the medium lacks is not offered, and --target naming it answers 20', async () => {
    const scenario = await start('ak-invalid-ostree');
    await scenario.useMediumCopy(workdir);
    await removeCommitFromMedium(scenario.medium, scenario.commit(2));
    const check = await scenario.check(['--json']);
    assert.equal(check.code, 16, check.stderr);
    const rows = JSON.parse(check.stdout.trim().split('\n').at(-1)!).targets.filter((row: { forDevice: boolean }) => row.forDevice);
    assert.deepEqual(rows.map((row: { name: string; installable: boolean }) => [row.name, row.installable]), [[scenario.target(3), true], [scenario.target(2), false]]);
    const install = await scenario.install(['--target', scenario.target(2)]);
    assert.equal(install.code, 20, install.stderr);
    assert.match(install.stderr, new RegExp(`'${scenario.target(2)}' cannot be installed from this medium .*rootfs commit ${scenario.commit(2)}`));
    assert.deepEqual(await scenario.device.state(), { failedTargets: [] });
  });

  test('InvalidTargetInstallApps: a target whose apps the medium lacks is not offered, and --target naming it answers 20', async () => {
    const scenario = await start('ak-invalid-apps');
    await scenario.useMediumWithout(workdir, ['akia-01']);
    const check = await scenario.check(['--json']);
    assert.equal(check.code, 16);
    const rows = JSON.parse(check.stdout.trim().split('\n').at(-1)!).targets.filter((row: { forDevice: boolean }) => row.forDevice);
    assert.deepEqual(rows.map((row: { name: string; installable: boolean }) => [row.name, row.installable]), [[scenario.target(3), true], [scenario.target(2), false]]);
    const install = await scenario.install(['--target', scenario.target(2)]);
    assert.equal(install.code, 20, install.stderr);
    assert.match(install.stderr, /needs apps akia-01, which the medium does not hold/);
  });
});
