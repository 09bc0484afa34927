/**
 * A process contending for the device's update locks, driven line by line on stdin, for the race tests of
 * lib/device/lock.ts: `node --import tsx test/helpers/lock-contender.ts <device lock> <aktualizr-lite lock>`.
 * `try` answers `won` (it holds both locks until `release`, answered `released`) or `refused <message>`.
 */
import { createInterface } from 'node:readline';
import { acquireUpdateLocks, type HeldLock } from '../../lib/device/lock.js';
import { LockedError } from '../../lib/errors.js';

const [device, aktualizrLite] = process.argv.slice(2);
if (!device || !aktualizrLite) throw new Error('usage: lock-contender.ts <device lock> <aktualizr-lite lock>');
let held: HeldLock | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'try') {
    try {
      held = await acquireUpdateLocks({ device, aktualizrLite });
      process.stdout.write('won\n');
    } catch (error) {
      if (!(error instanceof LockedError)) throw error;
      process.stdout.write(`refused ${error.message}\n`);
    }
  } else if (line === 'release') {
    held?.release();
    held = undefined;
    process.stdout.write('released\n');
  }
}
