/**
 * A process that takes one of the device's locks and keeps it until killed, for the tests of lib/device/lock.ts:
 * `node --import tsx test/helpers/hold-lock.ts device|aklite <path>`. Prints `locked` once it holds it.
 */
import { acquireAkliteLock, acquireDeviceLock } from '../../lib/device/lock.js';

const [kind, path] = process.argv.slice(2);
if (!path || (kind !== 'device' && kind !== 'aklite')) throw new Error('usage: hold-lock.ts device|aklite <path>');
await (kind === 'device' ? acquireDeviceLock(path) : acquireAkliteLock(path));
process.stdout.write('locked\n');
setInterval(() => {}, 1 << 30);
