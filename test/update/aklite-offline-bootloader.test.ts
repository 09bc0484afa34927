import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { sampleApps } from '../../fixtures/apps/index.js';
import { writeAktualizrDb } from '../../fixtures/device/aktualizr-db.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { Scenario, scenarioTargets } from '../helpers/aklite-scenario.js';
import type { BootloaderEnv } from '../helpers/bootloader-env.js';
import { removeDevice } from '../rootfs/helpers.js';

// aklite_offline_test.cc's boot firmware scenarios and its rollbacks to an unknown target, on real sysroots, the real
// dockerd and the real fw_setenv (fiovb emulated over it, as the scenarios' fixture emulates fiovb_setenv).
const { tiny, failing } = sampleApps;

function targets() {
  return [
    ...scenarioTargets('ak-bootfw', [{ version: 1, apps: [tiny('akbf-01', 1)] }, { version: 2, apps: [tiny('akbf-01', 2)], bootFirmwareVersion: '111' }]),
    ...scenarioTargets('ak-bootfw-block', [{ version: 1, apps: [tiny('akbb-01', 1)] }, { version: 2, apps: [tiny('akbb-01', 2)] }]),
    ...scenarioTargets('ak-unknown', [{ version: 1, apps: [tiny('akun-01', 1)] }, { version: 2, apps: [tiny('akun-01', 2)] }]),
    ...scenarioTargets('ak-unknown-apps', [{ version: 1, apps: [tiny('akua-01', 1)] }, { version: 2, apps: [failing('akua-01')] }]),
  ];
}

describe('aklite_offline_test.cc: boot firmware, the bootloader handshake, rollbacks to an unknown target', () => {
  let workdir: string;
  let factory: FactoryBuild;
  const started: Scenario[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-aklite-bootloader-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'aklite-bootloader',
      device: { type: 'ci', hardwareId: 'ak-bootfw', tag: 'main' },
      targets: targets(),
    }));
  });
  after(async () => {
    for (const scenario of started) await scenario.cleanUp();
    await removeDevice(workdir);
  });

  /** A device booted on version 1's rootfs with a fiovb bootloader whose firmware is version 100. */
  async function start(hardwareId: string, initial: Record<string, string> = {}): Promise<{ scenario: Scenario; env: BootloaderEnv }> {
    const bootedCommit = factory.targets.find((target) => target.name === `${hardwareId}-lmp-1`)!.ostreeCommit!;
    const fiovb = { bootcount: '0', upgrade_available: '0', rollback: '0', bootupgrade_available: '0', bootfirmware_version: '100', ...initial };
    const scenario = await Scenario.start(factory, hardwareId, { bootedCommit, fiovb });
    started.push(scenario);
    return { scenario, env: scenario.bootloader! };
  }

  test('BootFwUpdate: install 100 arms the fallback and the boot firmware update, run 5 on the new rootfs, then 40 once the firmware is confirmed', async () => {
    const { scenario, env } = await start('ak-bootfw');
    const install = await scenario.install();
    assert.equal(install.code, 100, install.stderr);
    assert.deepEqual([await env.get('bootcount'), await env.get('upgrade_available'), await env.get('rollback'), await env.get('bootupgrade_available')], ['0', '1', '0', '1']);
    await env.set('bootcount', '1');
    await scenario.reboot(2);
    const run = await scenario.run();
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stdout, /reboot once more to confirm it/);
    assert.deepEqual([await env.get('bootcount'), await env.get('upgrade_available')], ['0', '0'], 'the good boot is confirmed to the bootloader');
    await scenario.reboot(2);
    await env.set('bootupgrade_available', '0');
    assert.equal((await scenario.run()).code, 40);
    assert.equal((await scenario.current()).name, scenario.target(2));
    await scenario.assertAppsRun(2, ['akbf-01']);
  });

  test('UpdateIfBootFwUpdateIsNotConfirmedBefore: install 90 while bootupgrade_available is set, nothing deployed; after the reboot 100, then run 0', async () => {
    const { scenario, env } = await start('ak-bootfw-block', { bootupgrade_available: '1' });
    const deployments = await scenario.lmp.sysroot.rootfs.deployments();
    const blocked = await scenario.install();
    assert.equal(blocked.code, 90, blocked.stderr);
    assert.match(blocked.stderr, /boot firmware update awaits its confirming reboot/);
    assert.deepEqual(await scenario.lmp.sysroot.rootfs.deployments(), deployments, 'nothing was deployed');
    await scenario.reboot(1);
    await env.set('bootupgrade_available', '0');
    assert.equal((await scenario.install()).code, 100);
    assert.equal(await env.get('bootupgrade_available'), '0', 'the target brings no boot firmware');
    await scenario.reboot(2);
    assert.equal((await scenario.run()).code, 0);
    assert.equal((await scenario.current()).name, scenario.target(2));
  });

  test('a bootloader command that fails is a clear error before the device is told to reboot; once fixed, install again answers 100', async () => {
    const { scenario, env } = await start('ak-bootfw-block');
    await env.breakSetenv(true);
    const failed = await scenario.install();
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /is deployed, but the bootloader \(rollback_mode fiovb\) could not be prepared .*fiovb_setenv bootcount 0 failed.*Do not reboot yet/);
    await env.breakSetenv(false);
    const again = await scenario.install();
    assert.equal(again.code, 100, again.stderr);
    assert.equal(await env.get('upgrade_available'), '1');
  });

  /**
   * The scenarios' "unknown" initial target: aktualizr-lite's sql.db knows no target for the booted rootfs (its
   * installed_versions is empty). This tool rolls back to what the device ran all the same: the booted commit with
   * the apps found in compose_apps_root.
   */
  async function unknownDevice(hardwareId: string): Promise<Scenario> {
    const { scenario } = await start(hardwareId);
    await scenario.preload(1, { forget: true });
    await writeAktualizrDb(join(scenario.device.storage, 'sql.db'), { primaryEcu: { serial: 'ecu', hardwareId } });
    return scenario;
  }

  test('RollbackToUnknown: sql.db knows no current target; the bootloader falls back: run 99, the booted rootfs current again, its app running', async () => {
    const scenario = await unknownDevice('ak-unknown');
    assert.equal((await scenario.install()).code, 100);
    await scenario.bootloaderFallsBackTo(scenario.commit(1));
    assert.equal((await scenario.run()).code, 99);
    assert.equal((await scenario.current()).ostreeHash, scenario.commit(1));
    await scenario.assertAppsRun(1, ['akun-01']);
    const { stdout } = await promisify(execFile)('sqlite3', [join(scenario.device.storage, 'sql.db'), 'SELECT name, is_current, is_pending, was_installed FROM installed_versions ORDER BY id']);
    assert.deepEqual(stdout.trim().split('\n'), [`${scenario.target(2)}|0|0|0`], 'the failed target is known but not installed (not offered again); the booted one stays unknown, as for aktualizr-lite');
  });

  test('RollbackToUnknownIfAppDrivenRolllback: the new app fails on the new rootfs: run 100 and the previous rootfs deployed, reboot, run 0 (aklite answers 120: it finds nothing to roll back to)', async () => {
    const scenario = await unknownDevice('ak-unknown-apps');
    assert.equal((await scenario.install()).code, 100);
    await scenario.reboot(2);
    const run = await scenario.run();
    assert.equal(run.code, 100, run.stderr);
    assert.equal((await scenario.lmp.sysroot.rootfs.deployments())[0]?.commit, scenario.commit(1));
    await scenario.reboot(1);
    assert.equal((await scenario.run()).code, 0);
    assert.equal((await scenario.current()).ostreeHash, scenario.commit(1));
    await scenario.assertAppsRun(1, ['akua-01']);
  });
});
