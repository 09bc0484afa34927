import { driveOf, type DriveInfo } from '../../lib/bundle/drive.js';
import { parseBlockDevices } from '../../lib/fs/block-devices.js';

/** The drives `--drive auto` sees in the given `lsblk --json` output. */
export function parseLsblk(json: string): DriveInfo[] {
  return parseBlockDevices(json).map(driveOf);
}
