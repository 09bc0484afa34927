import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('command line', () => {
  test('--help lists every command, and each command has its own help', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const command of ['bundle-create', 'bundle <command>', 'check', 'install', 'run', 'status']) assert.match(top.stdout, new RegExp(`fioup-offline ${command}`));
    for (const command of [['check'], ['install'], ['run'], ['status'], ['bundle-create'], ['bundle', 'verify'], ['bundle', 'inspect']]) {
      const help = await runCli([...command, '--help']);
      assert.equal(help.code, 0, `${command.join(' ')} --help`);
      assert.match(help.stdout, new RegExp(`fioup-offline ${command.join(' ')}`));
      assert.match(help.stdout, /--config/);
    }
  });

  test('a usage error exits 2 with the usage line', async () => {
    const result = await runCli(['check', '--no-such-option']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^Usage: fioup-offline/m);
    assert.match(result.stderr, /Unknown argument/);
    assert.equal((await runCli([])).code, 2);
  });

  test('a failure is one clear line without a stack trace, unless --verbose', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-cli-'));
    await writeFile(join(dir, 'sota.toml'), '[pacman]\ntags = "main"\n');
    const plain = await runCli(['status', '--config', join(dir, 'sota.toml')]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /^error: \[provision\] primary_ecu_hardware_id is not set/m);
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    const verbose = await runCli(['status', '--verbose', '--config', join(dir, 'sota.toml')]);
    assert.match(verbose.stderr, /\n\s+at /);
    const json = await runCli(['status', '--json', '--config', join(dir, 'sota.toml')]);
    assert.deepEqual(JSON.parse(json.stdout.trim().split('\n').at(-1)!).error.code, 1);
  });
});
