import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { sampleApps } from '../../fixtures/apps/index.js';
import { writeAktualizrDb } from '../../fixtures/device/aktualizr-db.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { gitCommit } from '../../lib/build-info.js';
import { executableName, NODE_RUNTIMES, onHost, type TargetArch } from '../../scripts/package/node-runtimes.js';
import { repoRoot, runCli, runProgram, type CliResult } from '../helpers/cli.js';
import { createTestDevice, removeTree, type TestDevice } from '../helpers/device.js';

const packageDir = join(repoRoot, 'dist/package');
const executable = (arch: TargetArch) => join(packageDir, executableName(arch));
/** Runs the executable built for `arch`, under qemu-user-static when it is not this host's. */
const runExecutable = (arch: TargetArch, ...args: string[]): Promise<CliResult> => {
  const [program, ...rest] = onHost(NODE_RUNTIMES[arch], executable(arch), ...args);
  return runProgram(program!, rest);
};
const APP = 'pkgarm';
const hardwareIds = ['amd64-linux'];
/** What the Node runtime inside links: the C library and the C++ runtime, nothing of this project's dependencies. */
const SYSTEM_LIBRARIES = /^(libc|libm|libdl|libpthread|libstdc\+\+|libgcc_s|libatomic|ld-linux[-\w.]*)\.so[.\d]*$/;

describe('the self-contained executables', () => {
  let workdir: string;
  let factory: FactoryBuild;
  let media: Record<'dir' | 'tar' | 'zip', string>;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-binaries-'));
    factory = await buildFactory(join(workdir, 'factory'), scenarios.basic({
      seed: 'binaries',
      targets: [{ hardwareIds, version: 1, apps: [sampleApps.tiny(APP, 1)] }],
    }));
    media = { dir: factory.dirs.medium, tar: join(workdir, 'bundle.tar'), zip: join(workdir, 'bundle.zip') };
    for (const format of ['tar', 'zip'] as const) {
      // Written by the x64 executable: bundle.json records its version and commit.
      const created = await runExecutable('x64', 'bundle-create', factory.dirs.medium, media[format], '--format', format);
      assert.equal(created.code, 0, created.stderr);
    }
  });
  after(async () => {
    await removeTree(workdir);
  });

  test('each links nothing but the C and C++ runtime libraries', () => {
    for (const arch of ['x64', 'arm64', 'armv7l'] as const) {
      const needed = [...execFileSync('readelf', ['-d', executable(arch)], { encoding: 'utf8' }).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((match) => match[1]!);
      assert.ok(needed.length > 0, `${arch}: readelf lists its libraries`);
      assert.deepEqual(needed.filter((library) => !SYSTEM_LIBRARIES.test(library)), [], `${arch} links ${needed.join(', ')}`);
    }
  });

  test('the script inside requires nothing but Node\'s own modules (anything else makes Node warn on every command that reaches it), and none of what dockerode loads for unused features', async () => {
    const script = await readFile(join(packageDir, 'work/fioup-offline.cjs'), 'utf8');
    const required = new Set([...script.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((match) => match[2]!));
    assert.ok(required.has('node:fs') || required.has('fs'), 'the scan finds the requires');
    assert.deepEqual([...required].filter((name) => !builtinModules.includes(name.replace(/^node:/, ''))), []);
    // dockerode's BuildKit sessions (gRPC) and docker-modem's ssh transport are left out: never used, costly to load.
    assert.doesNotMatch(script, /grpc-status|curve25519-sha256/);
    // status on a device of apps asks Docker (here absent): dockerode, docker-modem and debug load, and say nothing.
    const device = await createTestDevice(factory);
    const status = await runProgram(executable('x64'), ['status', '--config', device.configDir], { env: { DOCKER_HOST: `unix://${join(workdir, 'no-docker.sock')}` } });
    assert.match(status.stderr, /^warning: Docker is not running/m);
    assert.doesNotMatch(status.stderr, /Warning|single-executable/);
  });

  test('x64: --version is the package version and the commit built from; --help is the CLI\'s own', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const printed = await runExecutable('x64', '--version');
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, `fioup-offline ${version} (commit ${gitCommit(repoRoot)})\n`);
    const help = await runExecutable('x64', '--help');
    assert.equal(help.code, 0);
    assert.equal(help.stdout, (await runCli(['--help'])).stdout, 'the same text as node dist/cli/main.js --help');
  });

  test('x64: bundle.json records the version and commit; drives are listed through lsblk, without drivelist', async () => {
    const { stdout } = await runExecutable('x64', 'bundle', 'inspect', media.tar, '--json');
    assert.match(JSON.parse(stdout).writtenBy.tool, new RegExp(`^fioup-offline \\d+\\.\\d+\\.\\d+ \\(commit ${gitCommit(repoRoot)}\\)$`));
    const drive = await runExecutable('x64', 'bundle-create', factory.dirs.medium, '--drive', 'auto');
    assert.notEqual(drive.code, 0);
    assert.doesNotMatch(drive.stderr, /Cannot find module|drivelist|ERR_/);
    assert.match(drive.stderr, /^error: .*(drive|USB)/m);
  });

  test('x64: the bash completion it prints completes commands and their options', async () => {
    const script = await runExecutable('x64', 'completion');
    assert.match(script.stdout, /complete -o bashdefault -o default -F _fioup-offline_yargs_completions fioup-offline/);
    const commands = await runExecutable('x64', '--get-yargs-completions', 'fioup-offline', '');
    assert.deepEqual(commands.stdout.trim().split('\n').filter((word) => !word.startsWith('-')), ['bundle-create', 'bundle', 'check', 'install', 'run', 'current', 'auto', 'status']);
    const options = await runExecutable('x64', '--get-yargs-completions', 'fioup-offline', 'install', '--');
    assert.ok(['--src-dir', '--target', '--force'].every((option) => options.stdout.split('\n').includes(option)), options.stdout);
  });

  test("x64, copied away from the repository's node_modules: reads and writes aktualizr-lite's sql.db with the SQLite it carries", async () => {
    const device = await createTestDevice(factory);
    try {
      const alone = join(device.root, 'fioup-offline');
      await copyFile(executable('x64'), alone);
      const dbPath = join(device.storage, 'sql.db');
      await writeAktualizrDb(dbPath, { primaryEcu: { serial: 'ecu-1', hardwareId: hardwareIds[0]! } });
      const install = await runProgram(alone, ['install', '--src-dir', media.dir, '--config', device.configDir], { cwd: device.root });
      assert.equal(install.code, 101, install.stderr);
      const rows = execFileSync('sqlite3', [dbPath, 'SELECT ecu_serial, name, is_pending FROM installed_versions'], { encoding: 'utf8' });
      assert.equal(rows.trim(), 'ecu-1|amd64-linux-lmp-1|1');
    } finally {
      await removeTree(device.root);
    }
  });

  describe('arm64 under qemu-user-static', () => {
    let device: TestDevice;
    before(async () => {
      device = await createTestDevice(factory);
    });
    after(async () => {
      await removeTree(device.root);
    });
    const onDevice = (...args: string[]) => runExecutable('arm64', ...args, '--config', device.configDir);

    test('--help, and check on a directory, tar and zip medium (16: an update is available)', async () => {
      const help = await runExecutable('arm64', '--help');
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /fioup-offline auto/);
      for (const [format, medium] of Object.entries(media)) {
        const check = await onDevice('check', '--src-dir', medium);
        assert.equal(check.code, 16, `${format}: ${check.stderr}`);
        assert.match(check.stdout, /Newer target available: amd64-linux-lmp-1/);
      }
    });

    test('install into the real dockerd loads the arm64 images, which Docker inspects as arm64 (101)', async () => {
      const install = await onDevice('install', '--src-dir', media.tar);
      assert.equal(install.code, 101, install.stderr);
      const docker = new Docker();
      const images = factory.apps.find((app) => app.name === APP)!.images;
      for (const image of images) {
        const inspected = await docker.getImage(image.platforms.arm64!.configDigest).inspect();
        assert.equal(inspected.Architecture, 'arm64');
        assert.equal(inspected.Os, 'linux');
      }
      assert.equal((await device.state()).pending?.target.name, 'amd64-linux-lmp-1');
    });
  });

  test('armv7l under qemu-user-static: --help, and check (8: the medium has no linux/arm/v7 images of the app)', async () => {
    const help = await runExecutable('armv7l', '--help');
    assert.equal(help.code, 0, help.stderr);
    const device = await createTestDevice(factory);
    try {
      const check = await runExecutable('armv7l', 'check', '--src-dir', media.zip, '--config', device.configDir);
      assert.equal(check.code, 8, check.stderr);
      assert.match(check.stdout + check.stderr, /linux\/arm\/v7 images of apps/);
    } finally {
      await removeTree(device.root);
    }
  });
});
