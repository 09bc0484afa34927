import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createTestDevice, exists, projectContainers, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';
import { hostDirectoryPart, readReport, reportFiles, validateReport } from '../helpers/reports.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../helpers/small-filesystem.js';
import { unitCommandArguments } from '../helpers/units.js';
import { runCli } from '../helpers/cli.js';

// App names of their own: other test files run compose projects on the same dockerd at the same time.
const WEB = 'autoweb';
const FAILING = 'autofail';
const hardwareIds = ['amd64-linux'];
const target = (version: number) => `amd64-linux-lmp-${version}`;

describe('USB auto-install: the command the unit runs, on a loop-mounted ext4 drive, to the report on it', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let device: TestDevice;
  let stick: SmallFilesystem;
  const deviceDirectory = `amd64-linux-${hostDirectoryPart()}`;
  const reports = () => reportFiles(stick.mountPoint, deviceDirectory);
  /** What fioup-offline-usb@.service runs, its mount point replaced by this stick's, with the test device's config. */
  const auto = async () => device.cli((await unitCommandArguments('fioup-offline-usb@.service', 'sdb1'))
    .map((arg) => arg.replace('/run/fioup-offline/usb/sdb1', stick.mountPoint)));
  const writeBundle = async (version: number) => {
    const created = await runCli(['bundle-create', factory.dirs.medium, join(stick.mountPoint, 'fioup-offline-bundle'), '--target', target(version), '--force']);
    assert.equal(created.code, 0, created.stderr);
  };

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-auto-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'auto-flow',
      targets: [
        { hardwareIds, version: 1, apps: [sampleApps.webPair(1, WEB)] },
        { hardwareIds, version: 2, apps: [sampleApps.webPair(2, WEB)] },
        { hardwareIds, version: 3, apps: [sampleApps.webPair(2, WEB), sampleApps.failing(FAILING)] },
      ],
    }));
    device = await createTestDevice(factory);
    stick = await mountSmallFilesystem(workdir, 'stick', '64M');
  });
  after(async () => {
    await removeComposeProjects([WEB, FAILING]);
    stick.unmount();
    await removeTree(workdir);
    await removeTree(device.root);
  });

  test('a fresh device installs and runs the stick\'s target (0); the report is on the stick, durable, valid and complete', async () => {
    await writeBundle(1);
    const result = await auto();
    assert.equal(result.code, 0, result.stderr);
    assert.ok([...(await projectContainers(WEB)).values()].every((container) => container.state === 'running'));
    assert.equal((await device.state()).current?.name, target(1));

    // Unplugged and plugged in again: the report is there.
    execFileSync('umount', [stick.mountPoint]);
    execFileSync('mount', ['-o', 'loop', join(workdir, 'stick.img'), stick.mountPoint]);
    const [file] = await reports();
    assert.ok(file, 'a report was written');
    assert.match(file, /^\d{8}T\d{6}Z$/, 'named by its UTC time, without colons (FAT)');
    const report = await readReport(stick.mountPoint, deviceDirectory, file);
    validateReport(report);
    assert.equal(report.result, 'updated');
    assert.equal(report.exitCode, 0);
    assert.equal(report.previousTarget, null);
    assert.deepEqual(report.newTarget, { name: target(1), version: 1 });
    assert.deepEqual(report.currentTarget, { name: target(1), version: 1 });
    assert.deepEqual(report.steps.map((step: { command: string; exitCode: number }) => `${step.command} ${step.exitCode}`), ['install 101', 'run 0']);
    assert.deepEqual(report.apps.map((app: { name: string; state: string }) => `${app.name} ${app.state}`), [`${WEB} running`]);
    assert.equal(report.device.hardwareId, 'amd64-linux');
    assert.equal(report.medium, stick.mountPoint);
    const text = await readFile(join(stick.mountPoint, 'fioup-offline-reports', deviceDirectory, `${file}.txt`), 'utf8');
    assert.match(text, /^fioup-offline update report: UPDATED/);
    assert.match(text, new RegExp(`new target: +${target(1)} \\(version 1\\)`));
    assert.match(text, new RegExp(`${WEB} +running`));
  });

  test('an app that fails is rolled back (99): the report has its log lines and the fix; plugged in again, it is refused (102)', async () => {
    await writeBundle(3);
    const failed = await auto();
    assert.equal(failed.code, 99, failed.stderr);
    assert.equal((await device.state()).current?.name, target(1));
    const refused = await auto();
    assert.equal(refused.code, 102, refused.stderr);

    const [, rolledBackFile, refusedFile] = await reports();
    const rolledBack = await readReport(stick.mountPoint, deviceDirectory, rolledBackFile!);
    validateReport(rolledBack);
    assert.equal(rolledBack.result, 'rolled-back');
    assert.equal(rolledBack.exitMeaning, 'the update failed and was rolled back: the previous target runs again');
    assert.equal(rolledBack.errors.length, 1);
    assert.match(rolledBack.errors[0].message, new RegExp(`app ${FAILING}`));
    assert.match(rolledBack.errors[0].logTail, /boom/);
    assert.match(rolledBack.errors[0].fix, /last log lines/);
    const refusal = await readReport(stick.mountPoint, deviceDirectory, refusedFile!);
    validateReport(refusal);
    assert.equal(refusal.result, 'refused');
    assert.equal(refusal.errors[0].kind, 'DowngradeRefusedError');
    assert.deepEqual(refusal.newTarget, { name: target(3), version: 3 }, 'the target refused');
    assert.match(refusal.errors[0].fix, /--force/);
    assert.equal(refusal.earlierUpdates[0].result, 'rolled-back', 'earlier updates, newest first');

    const status = await device.cli(['status']);
    assert.match(status.stdout, new RegExp(`failed targets:\\n  ${target(3)}: app ${FAILING}: service`));
    assert.match(status.stdout, /last updates \(newest first\):\n.*install .*failed \(exit 102\)/);
  });

  test('a read-only stick still updates the device (0), and the journal says the report could not be written', async () => {
    await writeBundle(2);
    const before = await reports();
    execFileSync('mount', ['-o', 'remount,ro', stick.mountPoint]);
    try {
      const result = await auto();
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /the report could not be written onto the medium \(.*read-only file system.*\); the update itself is not affected/i);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', stick.mountPoint]);
    }
    assert.equal((await device.state()).current?.name, target(2));
    assert.deepEqual(await reports(), before);
  });

  test('a full drive holding a tar bundle: the update goes on (0, up to date) and nothing half-written is left', async () => {
    const bundle = join(workdir, 'bundle.tar');
    const created = await runCli(['bundle-create', factory.dirs.medium, bundle, '--format', 'tar', '--target', target(2)]);
    assert.equal(created.code, 0, created.stderr);
    const full = join(workdir, 'full');
    await mkdir(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${(await stat(bundle)).size + (64 << 10)}`, 'tmpfs', full]);
    try {
      execFileSync('cp', [bundle, full]);
      execFileSync('sh', ['-c', `dd if=/dev/zero of=${join(full, 'filler')} bs=4k status=none 2>/dev/null || true`]);
      const result = await device.cli(['auto', '--src-dir', full]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /the report could not be written onto the medium \(.*no space left on device.*\)/i);
      assert.deepEqual(await reportFiles(full, deviceDirectory), []);
      const written = await readdir(join(full, 'fioup-offline-reports', deviceDirectory)).catch((): string[] => []);
      assert.deepEqual(written, [], 'no temporary file is left');
    } finally {
      execFileSync('umount', [full]);
    }
  });

  test('bundle inspect on the host lists the reports found on the stick', async () => {
    const inspect = await runCli(['bundle', 'inspect', stick.mountPoint, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    const summary = JSON.parse(inspect.stdout);
    assert.deepEqual(summary.reports.map((report: { result: string; exitCode: number }) => `${report.result} ${report.exitCode}`),
      ['updated 0', 'rolled-back 99', 'refused 102']);
    assert.ok(summary.reports.every((report: { device: string }) => report.device === deviceDirectory));
    const human = await runCli(['bundle', 'inspect', stick.mountPoint]);
    assert.match(human.stdout, /reports from devices \(3\):\n.*\n.* rolled-back \(exit 99\) +amd64-linux-lmp-1 -> amd64-linux-lmp-3/);
  });
});

describe('USB auto-install of a rootfs update: reboot requested, finished after the reboot by the second unit', () => {
  test('install 100 with the reboot requested, --after-reboot finishes it (0), and the next plug-in reports it', { timeout: 300_000 }, async () => {
    const { simulatedDevice, removeDevice } = await import('../rootfs/helpers.js');
    const HARDWARE_ID = 'intel-corei7-64';
    const ROOTFS_APP = 'autorootfs';
    const deviceDirectory = `${HARDWARE_ID}-${hostDirectoryPart()}`;
    const workdir = await mkdtemp(join(tmpdir(), 'fioup-auto-rootfs-'));
    const factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'auto-rootfs',
      device: { type: 'ci', hardwareId: HARDWARE_ID, tag: 'main' },
      targets: [1, 2].map((version) => ({ hardwareIds: [HARDWARE_ID], version, apps: [sampleApps.tiny(ROOTFS_APP, version)] })),
    }));
    const commit = (version: number) => factory.targets.find((entry) => entry.name === `${HARDWARE_ID}-lmp-${version}`)!.ostreeCommit!;
    const sysroot = await simulatedDevice(factory.dirs.ostreeRepo, commit(1));
    const device = await createTestDevice(factory);
    try {
      await device.configure('60-ostree.toml', [
        '[offline]', 'ostree = true', `kernel_cmdline = "${sysroot.config.kernelCmdline}"`, '[bootloader]', `reboot_sentinel_dir = "${sysroot.runtimeDir}"`,
        '[pacman]', `sysroot = "${sysroot.config.sysroot}"`, 'os = "lmp"', '',
      ].join('\n'));
      const rebooted = join(workdir, 'reboot-requested');
      const auto = (...args: string[]) => device.cli([...args, '--reboot-command', `touch ${rebooted}`]);

      const installed = await auto('auto', '--src-dir', factory.dirs.medium);
      assert.equal(installed.code, 100, installed.stderr);
      assert.equal(await exists(rebooted), true, 'the reboot was requested');
      const [first] = await reportFiles(factory.dirs.medium, deviceDirectory);
      const report = await readReport(factory.dirs.medium, deviceDirectory, first!);
      validateReport(report);
      assert.equal(report.result, 'reboot-scheduled');
      assert.deepEqual(report.pendingTarget, { name: `${HARDWARE_ID}-lmp-2`, version: 2 });

      await sysroot.bootInto(commit(2));
      // What fioup-offline-finish.service runs at boot; first while dockerd does not answer (not up yet, or gone).
      const finishCommand = await unitCommandArguments('fioup-offline-finish.service');
      const engineDown = await device.cli([...finishCommand, '--reboot-command', `touch ${rebooted}`], { DOCKER_HOST: `unix://${join(workdir, 'no-docker.sock')}` });
      assert.equal(engineDown.code, 1, engineDown.stderr);
      assert.match(engineDown.stderr, /the update stays scheduled for the next boot/);
      assert.equal((await device.state()).pending?.target.name, `${HARDWARE_ID}-lmp-2`, 'nothing changed');
      const finished = await auto(...finishCommand);
      assert.equal(finished.code, 0, finished.stderr);
      assert.equal((await device.state()).current?.name, `${HARDWARE_ID}-lmp-2`);
      assert.equal((await projectContainers(ROOTFS_APP)).get('service')?.state, 'running');
      const again = await auto('auto', '--after-reboot');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /nothing to do/);

      const replugged = await auto('auto', '--src-dir', factory.dirs.medium);
      assert.equal(replugged.code, 0, replugged.stderr);
      const upToDate = await readReport(factory.dirs.medium, deviceDirectory, (await reportFiles(factory.dirs.medium, deviceDirectory)).at(-1)!);
      validateReport(upToDate);
      assert.equal(upToDate.result, 'up-to-date');
      assert.equal(upToDate.earlierUpdates[0].command, 'run');
      assert.equal(upToDate.earlierUpdates[0].result, 'done', 'the run after the reboot is in the report the technician carries home');
    } finally {
      await removeComposeProjects([ROOTFS_APP]);
      await removeDevice(sysroot.root);
      await removeTree(device.root);
      await removeDevice(workdir);
    }
  });
});
