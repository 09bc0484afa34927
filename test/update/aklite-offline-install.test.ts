import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { writeOstreeCommit } from '../../fixtures/ostree/index.js';
import { Scenario, scenarioTargets } from '../helpers/aklite-scenario.js';
import { removeAppFromMedium } from '../helpers/lmp-device.js';
import { removeDevice } from '../rootfs/helpers.js';

// One hardware id per scenario of aktualizr-lite's tests/aklite_offline_test.cc; app names of their own, since other
// test files run compose projects on the same dockerd at the same time.
const tiny = sampleApps.tiny;
const SHORTLIST_URI = 'https://api.foundries.io/projects/acme/lmp/builds/2/runs/build/apps.tar';

function targets() {
  return [
    ...scenarioTargets('ak-client', [{ version: 2, apps: [tiny('akcl-01', 2)] }, { version: 3, apps: [tiny('akcl-01', 3)] }]),
    ...scenarioTargets('ak-not-latest', [{ version: 2, apps: [tiny('aknl-01', 2)] }, { version: 3, apps: [tiny('aknl-01', 3)] }]),
    ...scenarioTargets('ak-multiple', [
      { version: 2, apps: [tiny('akmt-01', 2)] },
      { version: 3, apps: [tiny('akmt-01', 3), tiny('akmt-02', 3)] },
      { version: 4, apps: [tiny('akmt-02', 4), tiny('akmt-03', 4)] },
    ]),
    ...scenarioTargets('ak-shortlist', [{ version: 2, apps: [tiny('aksl-01', 2), tiny('aksl-02', 2), tiny('aksl-zz00-03', 2)] }]),
    ...scenarioTargets('ak-ci-empty', [{
      version: 2, apps: [tiny('akce-01', 2), tiny('akce-02', 2), tiny('akce-zz00-03', 2)], fetchedApps: { uri: SHORTLIST_URI, shortlist: '' },
    }]),
    ...scenarioTargets('ak-ci', [{
      version: 2, apps: [tiny('akci-01', 2), tiny('akci-02', 2), tiny('akci-zz00-03', 2)], fetchedApps: { uri: SHORTLIST_URI, shortlist: 'akci-01,akci-02' },
    }]),
    ...scenarioTargets('ak-ci-none', [{
      version: 2, apps: [tiny('akcn-01', 2), tiny('akcn-02', 2), tiny('akcn-zz00-03', 2)], fetchedApps: { uri: SHORTLIST_URI, shortlist: 'foobar' },
    }]),
    ...scenarioTargets('ak-ci-off', [{ version: 2, apps: [tiny('akco-01', 2), tiny('akco-02', 2)], fetchedApps: { uri: '', shortlist: '' } }]),
    ...scenarioTargets('ak-ostree-only', [{ version: 2, apps: [tiny('akoo-01', 2)] }]),
    // Their rootfs is version 2's, which the device boots: apps-only targets.
    ...scenarioTargets('ak-apps-only', [{ version: 2, apps: [tiny('akao-01', 2)] }]),
    ...scenarioTargets('ak-apps-only-10', [{ version: 2, apps: [tiny('akat-01', 2)] }]),
  ];
}

describe('aklite_offline_test.cc: installs from the medium', () => {
  let workdir: string;
  let factory: FactoryBuild;
  /** The rootfs of the factory image the devices boot first: no target of these scenarios has it. */
  let imageRootfs: { repo: string; commit: string };
  const started: Scenario[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-aklite-install-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'aklite-install',
      device: { type: 'ci', hardwareId: 'ak-client', tag: 'main' },
      targets: targets(),
    }));
    const repo = join(workdir, 'image-rootfs');
    imageRootfs = { repo, commit: await writeOstreeCommit(repo, { version: 'image', seed: 'aklite-install' }) };
  });
  after(async () => {
    for (const scenario of started) await scenario.cleanUp();
    await removeDevice(workdir);
  });

  async function start(hardwareId: string, toml = '', bootedCommit?: string): Promise<Scenario> {
    const scenario = await Scenario.start(factory, hardwareId, bootedCommit
      ? { bootedCommit, toml }
      : { bootedCommit: imageRootfs.commit, repo: imageRootfs.repo, toml });
    started.push(scenario);
    return scenario;
  }

  test('OfflineClient: check 16, install 100 with the callbacks in aktualizr-lite\'s order, reboot, run 0 on the newest target', async () => {
    const log = join(workdir, 'client-callbacks.log');
    const program = join(workdir, 'callback.sh');
    await writeFile(program, `#!/bin/sh\necho "$MESSAGE\${RESULT+ $RESULT}" >> ${log}\n`, { mode: 0o755 });
    const scenario = await start('ak-client', `[pacman]\ncallback_program = ${program}\n`);
    const check = await scenario.check(['--json']);
    assert.equal(check.code, 16, check.stderr);
    const report = JSON.parse(check.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(report.targets.filter((row: { installable: boolean }) => row.installable).map((row: { name: string }) => row.name), [scenario.target(3), scenario.target(2)]);
    assert.equal(report.selected, scenario.target(3));
    assert.deepEqual(await readLines(log), ['check-for-update-pre', 'check-for-update-post OK']);

    const install = await scenario.install();
    assert.equal(install.code, 100, install.stderr);
    assert.deepEqual((await readLines(log)).slice(2), [
      'check-for-update-pre', 'check-for-update-post OK', 'download-pre', 'download-post OK', 'install-pre', 'install-post NEEDS_COMPLETION',
    ]);
    await scenario.reboot(3);
    const run = await scenario.run();
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((await readLines(log)).slice(8), ['install-final-pre', 'install-post OK']);
    assert.equal((await scenario.current()).name, scenario.target(3));
    await scenario.assertAppsRun(3, ['akcl-01']);
  });

  test('OfflineClientInstallNotLatest: the newest target\'s app is not on the medium, so the older complete one is installed', async () => {
    const scenario = await start('ak-not-latest');
    const newest = factory.targets.find((target) => target.name === scenario.target(3))!.apps[0]!;
    await removeAppFromMedium(await scenario.useMediumCopy(workdir), newest.name, newest.uri.split(':').at(-1));
    const check = await scenario.check(['--json']);
    assert.equal(check.code, 16, check.stderr);
    const rows = forDevice(check.stdout) as { name: string; installable: boolean; missingApps: string[] }[];
    assert.deepEqual(rows.map((row) => [row.name, row.installable, row.missingApps]), [[scenario.target(3), false, ['aknl-01']], [scenario.target(2), true, []]]);
    assert.equal((await scenario.install()).code, 100);
    await scenario.reboot(2);
    assert.equal((await scenario.run()).code, 0);
    assert.equal((await scenario.current()).name, scenario.target(2));
    await scenario.assertAppsRun(2, ['aknl-01']);
  });

  test('OfflineClientMultipleTargets: every target is offered, the newest installed', async () => {
    const scenario = await start('ak-multiple');
    const rows = forDevice((await scenario.check(['--json'])).stdout);
    assert.deepEqual(rows.map((row) => [row.name, row.installable]), [4, 3, 2].map((version) => [scenario.target(version), true]));
    await scenario.updateWithReboot(4);
    await scenario.assertAppsRun(4, ['akmt-02', 'akmt-03']);
  });

  test('OfflineClientShortlistedApps: [pacman] compose_apps names the apps; one the medium lacks but the device does not run is not needed', async () => {
    const scenario = await start('ak-shortlist', '[pacman]\ncompose_apps = "aksl-01, aksl-02"\n');
    await scenario.useMediumWithout(workdir, ['aksl-zz00-03']);
    await scenario.updateWithReboot(2);
    assert.deepEqual((await scenario.current()).apps, [{ name: 'aksl-01', uri: appUri(scenario, 2, 'aksl-01'), on: true }, { name: 'aksl-02', uri: appUri(scenario, 2, 'aksl-02'), on: true }, { name: 'aksl-zz00-03', uri: appUri(scenario, 2, 'aksl-zz00-03'), on: false }]);
    await scenario.assertAppsRun(2, ['aksl-01', 'aksl-02']);
  });

  test('OfflineClientShortlistedAppsInCIEmptyShortlist: an empty fetched-apps shortlist means all apps, narrowed by compose_apps', async () => {
    const scenario = await start('ak-ci-empty', '[pacman]\ncompose_apps = "akce-01, akce-02"\n');
    await scenario.useMediumWithout(workdir, ['akce-zz00-03']);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, ['akce-01', 'akce-02']);
  });

  test('OfflineClientShortlistedAppsInCI: the fetched-apps shortlist names the apps the medium carries and the device runs', async () => {
    const scenario = await start('ak-ci');
    await scenario.useMediumWithout(workdir, ['akci-zz00-03']);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, ['akci-01', 'akci-02']);
  });

  test('OfflineClientShortlistedAppsInCIEmptyIntersection: no shortlisted app is the target\'s: the rootfs is installed with no app', async () => {
    const scenario = await start('ak-ci-none', '[pacman]\ncompose_apps = "akcn-01, akcn-02"\n');
    await scenario.useMediumWithout(workdir, ['akcn-01', 'akcn-02', 'akcn-zz00-03']);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, []);
  });

  test('OfflineClientShortlistedAppsInCIFetchedAppsAreOff: fetched-apps with an empty uri: apps were not fetched, none is installed', async () => {
    const scenario = await start('ak-ci-off');
    // The CI fetched none of the target's apps: the download holds none of them.
    for (const app of ['akco-01', 'akco-02']) assert.equal(await stat(join(scenario.medium, 'apps/apps', app)).catch(() => undefined), undefined, app);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, []);
  });

  test('OfflineClientOstreeOnly: [pacman] type = "ostree" needs only the commit, and leaves the apps alone', async () => {
    const scenario = await start('ak-ostree-only', '[pacman]\ntype = "ostree"\n');
    await scenario.useMediumWithout(workdir, ['akoo-01']);
    await scenario.updateWithReboot(2);
    await scenario.assertAppsRun(2, []);
  });

  test('OfflineClientAppsOnly: a target with the booted commit installs its apps (101, no dockerd restart), run 0; 10 on request, as aklite-offline', async () => {
    const booted = factory.targets.find((target) => target.name === 'ak-apps-only-lmp-2')!.ostreeCommit!;
    for (const [hardwareId, app, toml, code] of [
      ['ak-apps-only', 'akao-01', '', 101],
      ['ak-apps-only-10', 'akat-01', '[offline]\napps_installed_exit_code = 10\n', 10],
    ] as const) {
      const scenario = await start(hardwareId, toml, booted);
      assert.equal((await scenario.check()).code, 16);
      const install = await scenario.install();
      assert.equal(install.code, code, install.stderr);
      assert.match(install.stdout, /Run 'fioup-offline run' to start it \(no dockerd restart is needed\)/);
      const run = await scenario.run();
      assert.equal(run.code, 0, run.stderr);
      assert.equal((await scenario.current()).name, scenario.target(2));
      assert.deepEqual((await scenario.lmp.sysroot.rootfs.deployments()).map((deployment) => deployment.commit), [booted], 'no rootfs deployed');
      await scenario.assertAppsRun(2, [app]);
    }
  });
});

function appUri(scenario: Scenario, version: number, app: string): string {
  return scenario.factory.targets.find((target) => target.name === scenario.target(version))!.apps.find((candidate) => candidate.name === app)!.uri;
}

/** The rows of a `check --json` report for the device's hardware id (the bundle's other targets are listed too). */
function forDevice(stdout: string): { name: string; installable: boolean; forDevice: boolean; missingApps: string[] }[] {
  return JSON.parse(stdout.trim().split('\n').at(-1)!).targets.filter((row: { forDevice: boolean }) => row.forDevice);
}

async function readLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).trim().split('\n');
}
