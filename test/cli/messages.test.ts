import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { lastJsonDocument, runCli } from '../helpers/cli.js';
import { createTestDevice, removeComposeProjects, removeTree, type TestDevice } from '../helpers/device.js';

const APP = 'msg-app';
const hardwareIds = ['amd64-linux'];

describe('messages that name the problem and the fix', () => {
  let workdir: string;
  let factory: FactoryBuild;
  const devices: TestDevice[] = [];

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-messages-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'messages',
      targets: [{ hardwareIds, version: 1, apps: [sampleApps.tiny(APP, 1)] }, { hardwareIds, version: 2, apps: [sampleApps.tiny(APP, 2)] }],
    }));
  });
  after(async () => {
    await removeComposeProjects([APP]);
    for (const device of devices) await removeTree(device.root);
    await removeTree(workdir);
  });

  async function device(): Promise<TestDevice> {
    const created = await createTestDevice(factory);
    devices.push(created);
    return created;
  }

  test('Docker not running: install, check and run say so first, and how to start it; status shows the device all the same, apps unknown', async () => {
    const log = join(workdir, 'callbacks.log');
    const program = join(workdir, 'callback.sh');
    await writeFile(program, `#!/bin/sh\necho "$MESSAGE" >> ${log}\n`, { mode: 0o755 });
    const dev = await device();
    await dev.configure('20-callback.toml', `[pacman]\ncallback_program = "${program}"\n`);
    assert.equal((await dev.cli(['install', '--src-dir', factory.dirs.medium, '--target', 'amd64-linux-lmp-1'])).code, 101);
    await writeFile(log, '');

    const socket = join(workdir, 'no-docker.sock');
    const noDocker = { DOCKER_HOST: `unix://${socket}` };
    const message = `error: Docker is not running (connect ENOENT ${socket}): start it with 'systemctl start docker'\n`;
    for (const args of [['install', '--src-dir', factory.dirs.medium], ['check', '--src-dir', factory.dirs.medium], ['run']]) {
      const result = await dev.cli(args, noDocker);
      assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
      assert.equal(result.stderr, message, args[0]);
    }
    assert.equal(await readFile(log, 'utf8'), '', 'before the check-in: no callback ran');
    assert.equal((await dev.state()).pending?.phase, 'staged', 'run changed nothing');

    const status = await dev.cli(['status'], noDocker);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /^warning: Docker is not running \(connect ENOENT .*\): start it with 'systemctl start docker'; the apps' states are unknown$/m);
    assert.match(status.stdout, /^pending target: amd64-linux-lmp-1 \(version 1, staged\): run 'fioup-offline run'$/m);
    const json = lastJsonDocument((await dev.cli(['status', '--json'], noDocker)).stdout);
    assert.equal(json.current, null, 'current is there, null');
    assert.equal(json.pending.target.version, 1);
    assert.match(json.docker.problem, /^Docker is not running/);
    assert.deepEqual(json.apps, []);
    assert.equal((await dev.cli(['run'])).code, 0);
    const running = lastJsonDocument((await dev.cli(['status', '--json'], noDocker)).stdout);
    assert.deepEqual(running.apps.map((app: { name: string; state: string; imagesPresent: unknown }) => [app.name, app.state, app.imagesPresent]), [[APP, 'unknown', null]]);
    assert.equal(running.pending, null, 'pending is there, null');
    assert.equal(lastJsonDocument((await dev.cli(['status', '--json'])).stdout).docker, null);

    // A device whose apps are not managed does not need Docker: no warning.
    const rootfsOnly = await device();
    await rootfsOnly.configure('20-ostree.toml', '[pacman]\ntype = "ostree"\n');
    const quiet = await rootfsOnly.cli(['status', '--json'], noDocker);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stdout + quiet.stderr, /Docker is not running/);
    assert.equal(lastJsonDocument(quiet.stdout).docker, null);
  });

  test('--target that names nothing lists the targets there are; a rerun of install that resumes says so; --src-dir \'\' is refused', async () => {
    const dev = await device();
    for (const command of ['check', 'install']) {
      const nope = await dev.cli([command, '--src-dir', factory.dirs.medium, '--target', 'nope']);
      assert.equal(nope.code, 20, nope.stderr);
      assert.match(nope.stdout + nope.stderr, /target 'nope' is not in the trusted targets metadata; the targets for this device are amd64-linux-lmp-2 \(version 2\), amd64-linux-lmp-1 \(version 1\)/);
    }
    assert.equal((await dev.cli(['install', '--src-dir', factory.dirs.medium])).code, 101);
    const again = await dev.cli(['install', '--src-dir', factory.dirs.medium]);
    assert.equal(again.code, 101, again.stderr);
    assert.match(again.stderr, /^resuming the installation of amd64-linux-lmp-2 staged at \d{4}-\d\d-\d\dT[\d:.]+Z \(version 2\): msg-app new$/m);

    for (const args of [['check', '--src-dir', ''], ['install', '-s', ''], ['auto', '--src-dir', ' ']]) {
      const empty = await dev.cli(args);
      assert.equal(empty.code, 1, `${args.join(' ')}: ${empty.stderr}`);
      assert.match(empty.stderr, /^error: --src-dir is empty: name the medium \(its mount point, a bundle directory, \.tar or \.zip\)$/m);
    }
  });

  test('the configuration read is named (check, status, --verbose), or where none was found; versions are numbers in every JSON', async () => {
    const dev = await device();
    const file = join(dev.configDir, '10-device.toml');
    const check = await dev.cli(['check', '--src-dir', factory.dirs.medium]);
    assert.match(check.stdout, new RegExp(`^Config {3}${file}$`, 'm'));
    assert.match((await dev.cli(['status'])).stdout, new RegExp(`^configuration: {2}${file}$`, 'm'));
    assert.match((await dev.cli(['status', '--verbose'])).stderr, new RegExp(`^configuration read from ${file}$`, 'm'));
    assert.doesNotMatch((await dev.cli(['status'])).stderr, /configuration read/, 'only with --verbose');

    // No file in the default places (this machine has no aktualizr-lite configuration).
    for (const path of ['/usr/lib/sota/conf.d', '/var/sota/sota.toml', '/etc/sota/conf.d/']) {
      assert.equal(await access(path).then(() => true, () => false), false, `${path} exists on this machine`);
    }
    const defaults = await runCli(['current']);
    assert.equal(defaults.code, 0, defaults.stderr);
    assert.match(defaults.stderr, /^warning: no configuration file found \(looked in \/usr\/lib\/sota\/conf\.d, \/var\/sota\/sota\.toml, \/etc\/sota\/conf\.d\/\): using the defaults, hardware id \S+$/m);

    const report = lastJsonDocument((await dev.cli(['check', '--src-dir', factory.dirs.medium, '--json'])).stdout);
    assert.deepEqual(report.targets.map((row: { version: unknown }) => row.version), [2, 1]);
    const tar = join(workdir, 'bundle.tar');
    assert.equal((await runCli(['bundle-create', factory.dirs.medium, tar])).code, 0);
    const inspected = lastJsonDocument((await runCli(['bundle', 'inspect', tar, '--json'])).stdout);
    assert.deepEqual(inspected.targets.map((target: { version: unknown }) => target.version), [2, 1]);
    assert.equal((await dev.cli(['install', '--src-dir', tar])).code, 101);
    assert.equal((await dev.cli(['run'])).code, 0);
    assert.equal(lastJsonDocument((await dev.cli(['current', '--json'])).stdout).version, 2);
    const status = lastJsonDocument((await dev.cli(['status', '--json'])).stdout);
    assert.equal(status.current.version, 2);
    assert.ok(status.history.every((entry: { target: { version: unknown } }) => typeof entry.target.version === 'number'));
  });
});
