import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FioupError } from '../errors.js';

/** A block device as `lsblk` reports it, with the devices below it (a disk's partitions, and theirs). */
export interface BlockDevice {
  /** `/dev/sdb` */
  readonly path: string;
  /** Vendor and model as the device reports them (may be empty). */
  readonly model: string;
  readonly sizeBytes: number | undefined;
  /** How the device is attached (`usb`, `sata`, `nvme`...); lsblk gives it for disks only. */
  readonly transport: string | undefined;
  /** lsblk's RM or HOTPLUG flag. */
  readonly removable: boolean;
  readonly readOnly: boolean;
  readonly label: string | undefined;
  /** Where its file system is mounted, every place once. */
  readonly mountPoints: readonly string[];
  readonly children: readonly BlockDevice[];
}

/** The block devices of this host, from `lsblk`. */
export async function listBlockDevices(): Promise<BlockDevice[]> {
  const { stdout } = await promisify(execFile)('lsblk', ['--bytes', '--json', '--paths', '--output-all']).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    throw new FioupError('lsblk is not installed, and the drives are listed with it: install util-linux ' +
      '(apt install util-linux, dnf install util-linux; util-linux-lsblk on Yocto/LmP images), or name the medium or drive yourself');
  });
  return parseBlockDevices(stdout);
}

interface LsblkDevice {
  path?: string;
  name?: string;
  model?: string | null;
  vendor?: string | null;
  size?: number | string | null;
  tran?: string | null;
  rm?: boolean | string | null;
  hotplug?: boolean | string | null;
  ro?: boolean | string | null;
  label?: string | null;
  mountpoint?: string | null;
  mountpoints?: (string | null)[];
  children?: LsblkDevice[];
}

/**
 * The output of `lsblk --bytes --json --paths --output-all`. Older lsblk versions write flags as "0"/"1" and
 * only `mountpoint`; newer ones booleans and `mountpoints` as well.
 */
export function parseBlockDevices(json: string): BlockDevice[] {
  return ((JSON.parse(json) as { blockdevices?: LsblkDevice[] }).blockdevices ?? []).map(blockDevice);
}

function blockDevice(device: LsblkDevice): BlockDevice {
  return {
    path: device.path ?? device.name ?? '',
    model: [device.vendor, device.model].map((part) => part?.trim()).filter(Boolean).join(' '),
    sizeBytes: device.size === null || device.size === undefined ? undefined : Number(device.size),
    transport: device.tran ?? undefined,
    removable: flag(device.rm) || flag(device.hotplug),
    readOnly: flag(device.ro),
    label: device.label ?? undefined,
    mountPoints: [...new Set([...(device.mountpoints ?? []), device.mountpoint])].filter((path): path is string => Boolean(path)),
    children: (device.children ?? []).map(blockDevice),
  };
}

function flag(value: boolean | string | null | undefined): boolean {
  return value === true || value === '1';
}
