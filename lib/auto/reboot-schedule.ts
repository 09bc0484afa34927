import { spawn } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TargetRef } from '../device/history.js';
import { writeJsonAtomic } from '../fs/atomic.js';

/**
 * The note `auto` leaves before the reboot a rootfs update needs: its presence tells `auto --after-reboot` (run
 * by fioup-offline-finish.service at boot) that the update it started is to be finished. Updates installed by hand
 * are left to whoever installed them.
 */
export class RebootSchedule {
  private readonly path: string;

  constructor(stateDirectory: string) {
    this.path = join(stateDirectory, 'auto-finish-after-reboot.json');
  }

  async isScheduled(): Promise<boolean> {
    return access(this.path).then(() => true, () => false);
  }

  async schedule(target: TargetRef | undefined): Promise<void> {
    await writeJsonAtomic(this.path, { scheduledAt: new Date().toISOString(), target });
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

/** Runs the system's reboot command (`sh -c`), e.g. `systemctl --no-block reboot`; fails when it exits non-zero. */
export function runRebootCommand(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`'${command}' exited ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`))));
  });
}
