import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadDeviceConfig } from '../../lib/config/device-config.js';
import { DeviceStateStore } from '../../lib/device/state.js';
import { ConfigError, FioupError, NotARegularFileError } from '../../lib/errors.js';
import { makeDirectories, readRegularFile } from '../../lib/fs/device-files.js';
import { runCli } from '../helpers/cli.js';

// issue 17, item 6: only regular files and directories are read as config or state.
describe('odd paths as config or state', () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  async function workdir(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'fioup-odd-'));
    roots.push(root);
    return root;
  }

  test('--config naming a FIFO is refused at once, not waited on', async () => {
    const root = await workdir();
    const fifo = join(root, 'sota.toml');
    await promisify(execFile)('mkfifo', [fifo]);
    await assert.rejects(loadDeviceConfig([fifo], { explicit: true }), (error: unknown) => error instanceof ConfigError && /sota\.toml is a FIFO, not a regular file/.test((error as Error).message));
  });

  test('--config /dev/urandom is refused before a byte is read; a FIFO among the snippets of a directory too', async () => {
    await assert.rejects(loadDeviceConfig(['/dev/urandom'], { explicit: true }), /\/dev\/urandom is a character device, not a regular file/);
    const root = await workdir();
    await writeFile(join(root, '10-a.toml'), '[pacman]\ntags = "main"\n');
    await promisify(execFile)('mkfifo', [join(root, '20-b.toml')]);
    await assert.rejects(loadDeviceConfig([root], { explicit: true }), /20-b\.toml is a FIFO/);
  });

  test('an oversized file is refused by its size, before it is read', async () => {
    const root = await workdir();
    const big = join(root, 'big.toml');
    await writeFile(big, 'x'.repeat(2048));
    await assert.rejects(readRegularFile(big, { what: 'config file', maxBytes: 1024 }), (error: unknown) => error instanceof NotARegularFileError && /2048 bytes, more than the 1024/.test((error as Error).message));
    assert.equal(await readRegularFile(join(root, 'missing'), { what: 'x', maxBytes: 1 }), undefined);
  });

  test('state.json that is a FIFO or a directory is refused as device state', async () => {
    const root = await workdir();
    const store = new DeviceStateStore(root);
    await makeDirectories(store.directory);
    await promisify(execFile)('mkfifo', [join(store.directory, 'state.json')]);
    await assert.rejects(store.load(), /state\.json is a FIFO, not a regular file/);
  });

  test('a directory under /proc is refused with the reason instead of looping for ever (Node\'s recursive mkdir never returns there)', async () => {
    await assert.rejects(makeDirectories('/proc/self/fioup-offline/state'), (error: unknown) => error instanceof FioupError && /cannot create the directory \/proc\/self\/fioup-offline/.test((error as Error).message));
    const root = await workdir();
    await writeFile(join(root, 'file'), '');
    await assert.rejects(makeDirectories(join(root, 'file', 'below')), (error: Error) =>
      error.message === `cannot create ${join(root, 'file', 'below')}: ${join(root, 'file')} is a file, not a directory (ENOTDIR): move it away or correct the configured path`);
    await makeDirectories(join(root, 'a', 'b', 'c'));
    assert.ok((await stat(join(root, 'a', 'b', 'c'))).isDirectory());
  });

  test('the CLI: [storage] path under /proc ends run with a message; --config on a FIFO ends at once', async () => {
    const root = await workdir();
    const config = join(root, 'proc.toml');
    await writeFile(config, `[storage]\npath = "/proc/self/fioup-x"\n[offline]\naklite_lock = "${join(root, 'aklite.lock')}"\n`);
    const run = await runCli(['run', '--config', config]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /cannot create the directory \/proc\/self\/fioup-x/);
    const fifo = join(root, 'fifo.toml');
    await promisify(execFile)('mkfifo', [fifo]);
    const status = await runCli(['status', '--config', fifo]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /fifo\.toml is a FIFO, not a regular file/);
  });
});
