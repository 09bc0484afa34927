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
    for (const command of [['check'], ['install'], ['run'], ['current'], ['status'], ['bundle-create'], ['bundle', 'verify'], ['bundle', 'inspect']]) {
      const help = await runCli([...command, '--help']);
      assert.equal(help.code, 0, `${command.join(' ')} --help`);
      assert.match(help.stdout, new RegExp(`fioup-offline ${command.join(' ')}`));
      assert.match(help.stdout, /-c, --config/);
      assert.match(help.stdout, /--log-level/);
    }
    const install = await runCli(['help', 'install']);
    assert.equal(install.code, 0);
    assert.equal(install.stdout, (await runCli(['install', '-h'])).stdout);
    for (const option of ['-s, --src-dir', '-t, --target', '-f, --force']) assert.ok(install.stdout.includes(option), option);
    assert.equal((await runCli(['help'])).stdout, top.stdout);
  });

  test('a usage error exits 1 with the usage line, as aklite-offline exits', async () => {
    const result = await runCli(['check', '--no-such-option']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Usage: fioup-offline/m);
    assert.match(result.stderr, /Unknown argument/);
    assert.equal((await runCli([])).code, 1);
    assert.equal((await runCli(['frobnicate'])).code, 1);
    assert.equal((await runCli(['run', '--log-level', '9'])).code, 1);
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
