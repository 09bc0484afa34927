import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockedError } from '../errors.js';

export interface DeviceLock {
  release(): Promise<void>;
}

/**
 * One fioup-offline at a time on a device: an exclusive-create lock file holding the owner's pid. A lock left by
 * a process that no longer exists (power cut, kill -9) is taken over, so a crash never blocks the next run.
 */
export async function acquireDeviceLock(path: string): Promise<DeviceLock> {
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.sync();
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new LockedError(`another fioup-offline (pid ${owner}) is working on this device; wait for it to finish (lock: ${path})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new LockedError(`cannot take the device lock ${path}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
