import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { Scenario, scenarioTargets } from '../helpers/aklite-scenario.js';
import { removeDevice } from '../rootfs/helpers.js';

// Each scenario's device boots version 1's rootfs with version 1's apps preloaded (installed, then, for the unknown
// initial target, the device's records removed), then takes version 2. App names of their own: other test files run
// compose projects on the same dockerd at the same time.
const { tiny, failing } = sampleApps;

function targets() {
  return [
    ...scenarioTargets('ak-preloaded', [
      { version: 1, apps: [tiny('akup-01', 1), tiny('akup-02', 1)] },
      { version: 2, apps: [tiny('akup-01', 2), tiny('akup-02', 2)] },
    ]),
    ...scenarioTargets('ak-rollback', [{ version: 1, apps: [tiny('akrb-01', 1)] }, { version: 2, apps: [tiny('akrb-01', 2)] }]),
    ...scenarioTargets('ak-rollback-shortlist', [
      { version: 1, apps: [tiny('akrs-01', 1), tiny('akrs-02', 1)] },
      { version: 2, apps: [tiny('akrs-01', 2), tiny('akrs-02', 2), tiny('akrs-03', 2)] },
    ]),
    ...scenarioTargets('ak-rollback-start', [
      { version: 1, apps: [tiny('akrf-01', 1), tiny('akrf-02', 1)] },
      { version: 2, apps: [tiny('akrf-01', 2), tiny('akrf-02', 2), failing('akrf-03')] },
    ]),
    ...scenarioTargets('ak-rollback-initial', [{ version: 1, apps: [tiny('akri-01', 1)] }, { version: 2, apps: [tiny('akri-01', 2)] }]),
    ...scenarioTargets('ak-rollback-initial-apps', [{ version: 1, apps: [tiny('akra-01', 1)] }, { version: 2, apps: [failing('akra-01')] }]),
  ];
}

describe('aklite_offline_test.cc: preloaded apps and rollbacks', () => {
  let workdir: string;
  let factory: FactoryBuild;
  const started: Scenario[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-aklite-rollback-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'aklite-rollback',
      device: { type: 'ci', hardwareId: 'ak-rollback', tag: 'main' },
      targets: targets(),
    }));
  });
  after(async () => {
    for (const scenario of started) await scenario.cleanUp();
    await removeDevice(workdir);
  });

  /** A device booted on version 1's rootfs (the same commit for every scenario here), with a fiovb bootloader as aklite's fixture has. */
  async function start(hardwareId: string, toml = ''): Promise<Scenario> {
    const bootedCommit = factory.targets.find((target) => target.name === `${hardwareId}-lmp-1`)!.ostreeCommit!;
    const scenario = await Scenario.start(factory, hardwareId, { bootedCommit, toml, fiovb: { bootcount: '0', upgrade_available: '0', rollback: '0' } });
    started.push(scenario);
    return scenario;
  }

  test('UpdateAfterPreloadingWithShortlisting: one of two apps preloaded (compose_apps); the update needs only that one on the medium', async () => {
    const scenario = await start('ak-preloaded', '[pacman]\ncompose_apps = "akup-01"\n');
    await scenario.preload(1, { forget: false });
    await scenario.assertAppsRun(1, ['akup-01']);
    await scenario.useMediumWithout(workdir, ['akup-02']);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, ['akup-01']);
  });

  test('Rollback: the bootloader falls back to the previous rootfs: run 99, the previous target current, its apps running', async () => {
    const scenario = await start('ak-rollback');
    await scenario.preload(1, { forget: false });
    assert.equal((await scenario.install()).code, 100);
    assert.equal(await scenario.bootloader!.get('upgrade_available'), '1', 'the fallback is armed');
    // What U-Boot does when the new rootfs does not come up: it counts the boots, then boots the previous one.
    await scenario.bootloader!.set('bootcount', '3');
    await scenario.bootloader!.set('rollback', '1');
    await scenario.bootloaderFallsBackTo(scenario.commit(1));
    const run = await scenario.run();
    assert.equal(run.code, 99, run.stderr);
    assert.equal((await scenario.current()).name, scenario.target(1));
    await scenario.assertAppsRun(1, ['akrb-01']);
    assert.deepEqual([await scenario.bootloader!.get('bootcount'), await scenario.bootloader!.get('rollback')], ['3', '1'],
      'a fallback is no good boot of the new rootfs: the bootloader is not told one (no pending deployment booted, as in ostreemanager.cc)');
  });

  test('RollbackWithAppShortlisting: the same with one of the apps preloaded and a new app in the update', async () => {
    const scenario = await start('ak-rollback-shortlist', '[pacman]\ncompose_apps = "akrs-01"\n');
    await scenario.preload(1, { forget: false });
    await scenario.useMediumWithout(workdir, ['akrs-02']);
    assert.equal((await scenario.install()).code, 100);
    await scenario.bootloaderFallsBackTo(scenario.commit(1));
    assert.equal((await scenario.run()).code, 99);
    assert.equal((await scenario.current()).name, scenario.target(1));
    await scenario.assertAppsRun(1, ['akrs-01']);
  });

  test('RollbackIfAppStartFailsWithAppShortlisting: an enabled new app fails after the reboot: run 100, reboot, run 0 on the previous target', async () => {
    const scenario = await start('ak-rollback-start', '[pacman]\ncompose_apps = "akrf-01"\n');
    await scenario.preload(1, { forget: false });
    await scenario.device.configure('80-apps.toml', '[pacman]\ncompose_apps = "akrf-01,akrf-03"\n');
    await scenario.useMediumWithout(workdir, ['akrf-02']);
    assert.equal((await scenario.install()).code, 100);
    await scenario.reboot(2);
    const run = await scenario.run();
    assert.equal(run.code, 100, run.stderr);
    assert.match(run.stdout + run.stderr, /boom/, "the failing service's log tail is shown");
    assert.deepEqual((await scenario.lmp.sysroot.rootfs.deployments())[0]?.commit, scenario.commit(1), 'the previous rootfs boots next');
    assert.deepEqual([await scenario.bootloader!.get('bootcount'), await scenario.bootloader!.get('upgrade_available')], ['0', '1'],
      'the redeployed previous rootfs is armed like any new one');
    await scenario.reboot(1);
    assert.equal((await scenario.run()).code, 0);
    assert.equal(await scenario.bootloader!.get('upgrade_available'), '0', 'its good boot is confirmed');
    assert.equal((await scenario.current()).name, scenario.target(1));
    await scenario.assertAppsRun(1, ['akrf-01']);
  });

  test('RollbackToInitialTarget: no target was recorded (the initial one); the bootloader falls back: run 99, the initial target current', async () => {
    const scenario = await start('ak-rollback-initial');
    await scenario.preload(1, { forget: true });
    assert.deepEqual(await scenario.current(), { name: 'Initial Target', ostreeHash: scenario.commit(1), apps: [{ name: 'akri-01', uri: '', on: true }], initial: true });
    assert.equal((await scenario.install()).code, 100);
    await scenario.bootloaderFallsBackTo(scenario.commit(1));
    assert.equal((await scenario.run()).code, 99);
    const current = await scenario.current();
    assert.equal(current.name, 'Initial Target');
    assert.equal(current.ostreeHash, scenario.commit(1));
    assert.equal(current.initial, true);
    await scenario.assertAppsRun(1, ['akri-01']);
  });

  test('RollbackToInitialTargetIfAppDrivenRolllback: the new app fails on the new rootfs: run 100, reboot, run 0 on the initial target with the preloaded app', async () => {
    const scenario = await start('ak-rollback-initial-apps');
    await scenario.preload(1, { forget: true });
    assert.equal((await scenario.install()).code, 100);
    await scenario.reboot(2);
    const run = await scenario.run();
    assert.equal(run.code, 100, run.stderr);
    await scenario.reboot(1);
    const finish = await scenario.run();
    assert.equal(finish.code, 0, finish.stderr);
    const current = await scenario.current();
    assert.equal(current.name, 'Initial Target');
    assert.equal(current.ostreeHash, scenario.commit(1));
    assert.equal(current.initial, true);
    await scenario.assertAppsRun(1, ['akra-01']);
    assert.equal((await scenario.run()).code, 40, 'nothing is left pending');
  });
});
