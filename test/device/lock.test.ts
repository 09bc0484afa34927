import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { acquireAkliteLock, acquireDeviceLock, acquireUpdateLocks } from '../../lib/device/lock.js';
import { LockedError } from '../../lib/errors.js';
import { repoRoot } from '../helpers/cli.js';
import { flockFree } from '../helpers/device.js';

/** Another process holding the lock, as another fioup-offline (or aktualizr-lite) would. */
async function holder(kind: 'device' | 'aklite', path: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/helpers/hold-lock.ts'), kind, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(child.stdout!, 'data');
  assert.equal(String(line).trim(), 'locked');
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const closed = once(child, 'close');
  child.kill('SIGKILL');
  await closed;
}

describe('locks: flock(2) held for exactly as long as the process lives', () => {
  test('the device lock: a second holder is refused with the first one\'s pid; a kill -9 of the first frees it at once', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fioup-lock-')), 'state', 'lock');
    const first = await holder('device', path);
    try {
      assert.equal((await readFile(path, 'utf8')).trim(), String(first.pid));
      await assert.rejects(acquireDeviceLock(path), (error) => error instanceof LockedError &&
        error.message === `another fioup-offline (pid ${first.pid}) is working on this device; wait for it to finish (lock: ${path})`);
      assert.equal(await flockFree(path), false, 'the kernel lock is held: any flock(2) user is refused');
    } finally {
      await killed(first);
    }
    assert.equal(await flockFree(path), true, 'the kernel dropped the lock of the killed process');
    const taken = await acquireDeviceLock(path);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    assert.equal(await flockFree(path), false);
    taken.release();
    assert.equal(await flockFree(path), true, 'released');
  });

  test('aktualizr-lite\'s lock: refused while aktualizr-lite (here flock(1)) holds it, naming the lock; created as aktualizr-lite creates it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-lock-'));
    const path = join(dir, 'aklite.lock');
    // flock(1) holding the lock itself (-o: not passed on to its command), in a process group of its own.
    const aktualizrLite = spawn('flock', ['-n', '-o', path, 'sleep', '60'], { stdio: 'ignore', detached: true });
    try {
      for (let attempt = 0; attempt < 100 && (await flockFree(path)); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      await assert.rejects(acquireAkliteLock(path), (error) => error instanceof LockedError &&
        error.message.startsWith(`${path} is held: aktualizr-lite, aklite-offline or another fioup-offline is running on this device`));
    } finally {
      const closed = once(aktualizrLite, 'close');
      process.kill(-aktualizrLite.pid!, 'SIGKILL');
      await closed;
    }
    // flock(1) forks its command holding the descriptor until the child closes it (-o): a kill inside that window
    // leaves the dying child holding the lock for a moment after flock(1) itself has exited.
    for (let attempt = 0; attempt < 100 && !(await flockFree(path)); attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
    const ours = await acquireAkliteLock(path);
    assert.equal(await flockFree(path), false, 'aktualizr-lite would be refused now');
    ours.release();

    const created = join(dir, 'created.lock');
    const other = await holder('aklite', created);
    try {
      assert.equal((await stat(created)).mode & 0o777, 0o444);
      await assert.rejects(acquireAkliteLock(created), LockedError);
    } finally {
      await killed(other);
    }
    (await acquireAkliteLock(created)).release();
  });

  test('an update holds both, its own first; when one is held it holds neither', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-lock-'));
    const paths = { device: join(dir, 'lock'), aktualizrLite: join(dir, 'aklite.lock') };
    const aktualizrLite = await holder('aklite', paths.aktualizrLite);
    try {
      await assert.rejects(acquireUpdateLocks(paths), /aklite\.lock is held/);
      assert.equal(await flockFree(paths.device), true, 'its own lock was let go');
    } finally {
      await killed(aktualizrLite);
    }
    const both = await acquireUpdateLocks(paths);
    assert.deepEqual([await flockFree(paths.device), await flockFree(paths.aktualizrLite)], [false, false]);
    both.release();
    assert.deepEqual([await flockFree(paths.device), await flockFree(paths.aktualizrLite)], [true, true]);
  });

  test('a lock path that is a FIFO or a directory is refused at once, not waited on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fioup-lock-'));
    const fifo = join(dir, 'aklite.lock');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(acquireAkliteLock(fifo), (error: Error) => error.message === `cannot lock ${fifo}: it is not a regular file`);
    await assert.rejects(acquireDeviceLock(fifo), /it is not a regular file/);
    await assert.rejects(acquireDeviceLock(dir), /EISDIR|not a regular file/);
  });
});
