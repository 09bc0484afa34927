import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FioupError, LockedError } from '../errors.js';
import { makeDirectories } from '../fs/device-files.js';

/** A lock this process holds until `release()` or its exit, whichever comes first. */
export interface HeldLock {
  release(): void;
}

/**
 * Takes an exclusive flock(2) on `path` without waiting, the kernel lock aktualizr-lite takes on /var/lock/aklite.lock
 * (api.cc). Node has no flock call, so the `flock` tool (util-linux or busybox) takes it on our open file description,
 * passed to it as its fd 3: a flock belongs to the open file description, so the lock stays ours after the tool
 * exits, for as long as this process keeps the descriptor open. The kernel drops it when the process ends, however it
 * ends (kill -9 included): no stale lock is ever left behind, and no pid file has to be trusted. Returns the open
 * descriptor, or undefined when another process holds the lock.
 */
async function flock(path: string, flags: number, mode: number): Promise<number | undefined> {
  await makeDirectories(dirname(path));
  // Non-blocking: a FIFO named as the lock must not hang the open; only a regular file is a lock file.
  const fd = openSync(path, flags | constants.O_CREAT | constants.O_NONBLOCK, mode);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new FioupError(`cannot lock ${path}: it is not a regular file`);
  }
  let status: number | null;
  let stderr = '';
  try {
    status = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('flock', ['-n', '-x', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', resolve);
    });
  } catch (error) {
    closeSync(fd);
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new FioupError(missing ? `cannot lock ${path}: the flock tool is not installed (util-linux or busybox provides it)` : `cannot lock ${path}: ${(error as Error).message}`);
  }
  if (status === 0) return fd;
  closeSync(fd);
  if (status === 1) return undefined;
  throw new FioupError(`cannot lock ${path}: flock exited ${status}${stderr ? `: ${stderr.trim()}` : ''}`);
}

function held(fd: number): HeldLock {
  let open = true;
  return {
    release: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * aktualizr-lite's lock: aktualizr-lite and aklite-offline hold it while they run, so holding it keeps them off the
 * device while fioup-offline updates it (and keeps fioup-offline off while they run). Opened as aktualizr-lite opens
 * it (created read-only, mode 0444) and never removed: a lock file another process may have open must stay the same
 * file for the lock to mean anything.
 */
export async function acquireAkliteLock(path: string): Promise<HeldLock> {
  const fd = await flock(path, constants.O_RDONLY, 0o444);
  if (fd === undefined) {
    throw new LockedError(`${path} is held: aktualizr-lite, aklite-offline or another fioup-offline is running on this device; ` +
      'stop it (systemctl stop aktualizr-lite) or wait for it to finish, then try again');
  }
  return held(fd);
}

/**
 * fioup-offline's own lock, `<storage>/fioup-offline/lock`: the same kernel lock, with the holder's pid written into
 * the file for the message another fioup-offline shows.
 */
export async function acquireDeviceLock(path: string): Promise<HeldLock> {
  const fd = await flock(path, constants.O_RDWR, 0o644);
  if (fd === undefined) {
    const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    const who = Number.isInteger(holder) && holder > 0 && isAlive(holder) ? ` (pid ${holder})` : '';
    throw new LockedError(`another fioup-offline${who} is working on this device; wait for it to finish (lock: ${path})`);
  }
  ftruncateSync(fd);
  writeSync(fd, `${process.pid}\n`, 0);
  return held(fd);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The locks an update command holds from start to end: fioup-offline's own first (its message names the pid), then aktualizr-lite's. */
export async function acquireUpdateLocks(paths: { readonly device: string; readonly aktualizrLite: string }): Promise<HeldLock> {
  const device = await acquireDeviceLock(paths.device);
  try {
    const aktualizrLite = await acquireAkliteLock(paths.aktualizrLite);
    return {
      release: () => {
        aktualizrLite.release();
        device.release();
      },
    };
  } catch (error) {
    device.release();
    throw error;
  }
}
