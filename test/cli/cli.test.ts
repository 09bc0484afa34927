import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeLmpConfig } from '../../fixtures/device/lmp-config.js';
import { runCli } from '../helpers/cli.js';

describe('command line', () => {
  test('--help lists every command, and each command has its own help, also as -h and as `help <command>`', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const command of ['bundle-create', 'bundle <command>', 'check', 'install', 'run', 'current', 'status']) assert.match(top.stdout, new RegExp(`fioup-offline ${command}`));
    const device = [['check'], ['install'], ['run'], ['current'], ['status'], ['auto']];
    const host = [['bundle-create'], ['bundle', 'verify'], ['bundle', 'inspect']];
    for (const command of [...device, ...host]) {
      const help = await runCli([...command, '--help']);
      assert.equal(help.code, 0, `${command.join(' ')} --help`);
      assert.match(help.stdout, new RegExp(`fioup-offline ${command.join(' ')}`));
      assert.match(help.stdout, /--log-level/);
      // Device options only on device commands.
      if (device.includes(command)) assert.match(help.stdout, /-c, --config/);
      else assert.doesNotMatch(help.stdout, /--config/, `${command.join(' ')} is a host command`);
    }
    const install = await runCli(['help', 'install']);
    assert.equal(install.code, 0);
    assert.equal(install.stdout, (await runCli(['install', '-h'])).stdout);
    for (const option of ['-s, --src-dir', '-t, --target', '-f, --force']) assert.ok(install.stdout.includes(option), option);
    assert.equal((await runCli(['help'])).stdout, top.stdout);
  });

  test('a usage error exits 1 with the usage line, as aklite-offline exits; with --json as JSON; a mistyped command gets a suggestion', async () => {
    const result = await runCli(['check', '--no-such-option']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Usage: fioup-offline/m);
    assert.match(result.stderr, /Unknown argument/);
    assert.equal((await runCli([])).code, 1);
    assert.equal((await runCli(['frobnicate'])).code, 1);
    assert.equal((await runCli(['run', '--log-level', '9'])).code, 1);
    const json = await runCli(['check', '--json', '--bogus']);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), { error: { code: 1, kind: 'UsageError', message: 'Unknown argument: bogus' } });
    const auto = await runCli(['auto', '--json']);
    assert.equal(auto.code, 1, 'a UsageError from a command\'s own check is a usage error too, not a crash');
    assert.deepEqual(JSON.parse(auto.stdout).error, { code: 1, kind: 'UsageError', message: 'name the medium with --src-dir, or give --after-reboot' });
    assert.doesNotMatch(auto.stderr, /\n\s+at /);
    const mistyped = await runCli(['isntall']);
    assert.equal(mistyped.code, 1);
    assert.match(mistyped.stderr, /^error: unknown command 'isntall'\. Did you mean install\?$/m);
    assert.match((await runCli(['bundle', 'verfy', 'x'])).stderr, /^error: unknown command 'verfy'\. Did you mean verify\?$/m);
  });

  test('every command\'s --help lists its exit codes with their meaning; bundle-create shows its sources and destination', async () => {
    const expected: Record<string, number[]> = {
      check: [0, 3, 16, 17, 6, 8, 20, 30, 60, 70, 90, 102], install: [0, 10, 100, 101, 8, 60, 70, 80, 90, 102], run: [0, 5, 40, 60, 99, 100, 120],
      current: [0, 1], status: [0, 1], auto: [0, 5, 90, 99, 100, 120], 'bundle-create': [0, 8, 11, 12, 60, 70], 'bundle verify': [0, 70], 'bundle inspect': [0, 14],
    };
    for (const [command, codes] of Object.entries(expected)) {
      const help = (await runCli([...command.split(' '), '--help'])).stdout;
      const section = help.split('\nExit codes:\n')[1];
      assert.ok(section, `${command} --help has an exit codes section`);
      const listed = [...section.matchAll(/^ {2}(\d+) +\S/gm)].map((match) => Number(match[1]));
      assert.deepEqual(listed, [...listed].sort((a, b) => a - b), `${command}: in order`);
      for (const code of codes) assert.ok(listed.includes(code), `${command} --help lists ${code}`);
    }
    assert.match((await runCli(['check', '--help'])).stdout, /^ {2}102 {2}refused: the target is older than the current one, or it failed$/m);
    const create = (await runCli(['bundle-create', '--help'])).stdout;
    assert.match(create, /^fioup-offline bundle-create <source>\.\.\. <destination>$/m);
    assert.match(create, /^fioup-offline bundle-create <source>\.\.\. --drive auto\|<device>\|<mount point>$/m);
    assert.match((await runCli(['--help'])).stdout, /fioup-offline bundle-create <source\.\.> \[destination\]/);
  });

  test('a failure is one clear line without a stack trace, unless --verbose or --log-level 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-cli-'));
    await writeFile(join(dir, 'sota.toml'), '[pacman]\nstorage_watermark = "5"\n');
    const config = ['--config', join(dir, 'sota.toml')];
    const plain = await runCli(['status', ...config]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^error: \[pacman\] storage_watermark must be an integer from 20 to 95, not '5' \(.*sota\.toml, line 2\)$/m);
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    for (const verbose of [['--verbose'], ['--log-level', '1']]) assert.match((await runCli(['status', ...verbose, ...config])).stderr, /\n\s+at /);
    const json = await runCli(['status', '--json', ...config]);
    assert.deepEqual(JSON.parse(json.stdout.trim().split('\n').at(-1)!).error.code, 1);
    assert.equal((await runCli(['status', '-c', join(dir, 'absent.toml')])).stderr, `error: config path ${join(dir, 'absent.toml')} does not exist\n`);
  });

  test('`current` on a device with real LmP snippets and no update yet: the initial target, as aklite-offline prints it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fioup-cli-'));
    const lmp = await writeLmpConfig(root, { hardwareId: 'imx8mm-lpddr4-evk', tags: 'main' });
    await writeFile(join(root, 'etc/sota/conf.d/60-paths.toml'), `[storage]\npath = "${join(root, 'var/sota')}"\n[pacman]\ncompose_apps_root = "${join(root, 'compose-apps')}"\n[offline]\nostree = false\n`);
    const current = await runCli(['current', ...lmp.sources.flatMap((source) => ['-c', source])]);
    assert.equal(current.code, 0, current.stderr);
    assert.equal(current.stdout, 'Target: Initial Target\nOstree hash: \n');
    assert.match(current.stderr, /callback_program \/usr\/bin\/callback-handler does not exist/);
    const quiet = await runCli(['current', '--log-level', '4', ...lmp.sources.flatMap((source) => ['-c', source])]);
    assert.equal(quiet.stderr, '', 'warnings hidden at log level 4');
  });
});
