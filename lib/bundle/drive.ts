import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { MediumNotFoundError, UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import { listBlockDevices, type BlockDevice } from '../fs/block-devices.js';
import { mountContaining, readMounts, type MountEntry } from '../fs/mounts.js';

/** A whole disk as the host sees it, with the file systems of its partitions that are mounted. */
export interface DriveInfo {
  /** `/dev/sdb` */
  readonly device: string;
  /** Vendor and model as the drive reports them (may be empty). */
  readonly model: string;
  readonly sizeBytes: number | undefined;
  readonly usb: boolean;
  readonly removable: boolean;
  /** Holds the running system, as the lister judges it. */
  readonly system: boolean;
  readonly readOnly: boolean;
  readonly mountPoints: readonly { readonly path: string; readonly label: string | undefined }[];
}

export type DriveLister = () => Promise<DriveInfo[]>;

/** Where `--drive` sends the bundle, and what the technician should see about it. */
export interface ChosenDrive {
  readonly mountPoint: string;
  /** Set when the drive was found by device (`auto` or a device path). */
  readonly device?: string;
  readonly model?: string;
  readonly sizeBytes?: number;
  readonly label?: string;
}

export interface ResolveDriveOptions {
  /** Default: drivelist when its native module loads, else `lsblk`. */
  readonly listDrives?: DriveLister;
  /** Default: /proc/mounts. */
  readonly mountTable?: string;
}

/** Mount points no bundle should ever be written to: a drive holding one of them runs this host. */
const SYSTEM_MOUNTS = new Set(['/', '/boot', '/boot/efi', '/usr', '/var', '/home', '[SWAP]']);

/**
 * Resolves `--drive`: `auto` picks the only usable removable USB drive, a block device resolves to the one place
 * it is mounted, and a directory is taken as the mount point. Refuses the disk that holds the running system
 * (whichever of its file systems is named), read-only, unmounted and ambiguous drives, with a message that says
 * what to do.
 */
export async function resolveDrive(spec: string, options: ResolveDriveOptions = {}): Promise<ChosenDrive> {
  const listDrives = options.listDrives ?? listSystemDrives;
  const chosen = spec === 'auto' ? await autoDrive(listDrives) : await namedDrive(spec, await readMounts(options.mountTable ?? '/proc/mounts'), listDrives);
  await requireWritable(chosen.mountPoint, chosen.device ?? chosen.mountPoint);
  return chosen;
}

/** One line for the technician: `/dev/sdb (SanDisk Ultra, 28.7 GiB, label FIOUP) mounted at /media/usb`. */
export function describeDrive(drive: ChosenDrive): string {
  if (drive.device === undefined) return drive.mountPoint;
  const details = [drive.model || undefined, drive.sizeBytes === undefined ? undefined : formatBytes(drive.sizeBytes), drive.label && `label ${drive.label}`].filter(Boolean);
  return `${drive.device}${details.length ? ` (${details.join(', ')})` : ''} mounted at ${drive.mountPoint}`;
}

async function autoDrive(listDrives: DriveLister): Promise<ChosenDrive> {
  const drives = await listDrives();
  const candidates = drives.filter((drive) => drive.usb || drive.removable);
  if (candidates.length === 0) {
    throw new MediumNotFoundError(`no removable USB drive found (${drives.map((drive) => drive.device).join(', ') || 'no drives at all'}): plug one in, or name its mount point with --drive`);
  }
  const problems = new Map(candidates.map((drive) => [drive, refusal(drive)]));
  const usable = candidates.filter((drive) => problems.get(drive) === undefined);
  if (usable.length > 1) {
    throw new UsageError(`several removable USB drives could take the bundle: ${usable.map((drive) => describeDrive(choice(drive))).join('; ')}. Name one with --drive <device or mount point>`);
  }
  if (usable.length === 0) {
    throw new UsageError(`no removable USB drive can take the bundle: ${candidates.map((drive) => `${drive.device} ${problems.get(drive)}`).join('; ')}`);
  }
  return choice(usable[0]!);
}

function refusal(drive: DriveInfo): string | undefined {
  if (drive.system || drive.mountPoints.some((mount) => SYSTEM_MOUNTS.has(mount.path))) return 'holds the running system';
  if (drive.readOnly) return 'is read-only (check its write-protect switch)';
  if (drive.mountPoints.length === 0) return `is not mounted (mount it, e.g. 'mkdir -p /mnt/usb && mount ${drive.device}1 /mnt/usb', or name it with --drive)`;
  if (drive.mountPoints.length > 1) return `has several mounted file systems (${drive.mountPoints.map((mount) => mount.path).join(', ')}): name one with --drive`;
  return undefined;
}

/** A usable drive (exactly one mount point, see `refusal`) as the place to write. */
function choice(drive: DriveInfo): ChosenDrive {
  const mount = drive.mountPoints[0]!;
  return {
    mountPoint: mount.path,
    device: drive.device,
    model: drive.model,
    ...(drive.sizeBytes === undefined ? {} : { sizeBytes: drive.sizeBytes }),
    ...(mount.label ? { label: mount.label } : {}),
  };
}

async function namedDrive(spec: string, mounts: readonly MountEntry[], listDrives: DriveLister): Promise<ChosenDrive> {
  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory()) {
    const mountPoint = spec.replace(/(.)\/+$/, '$1');
    await refuseSystemDisk(spec, mountContaining(await realpath(spec), mounts), listDrives);
    return { mountPoint };
  }
  if (!info?.isBlockDevice()) throw new UsageError(`--drive ${spec}: neither a block device, a mount point, nor 'auto'`);
  const device = await realpath(spec);
  let found = mounts.filter((mount) => mount.source === device);
  if (found.length === 0) found = mounts.filter((mount) => isPartitionOf(mount.source, device));
  const mountPoints = [...new Set(found.map((mount) => mount.target))];
  if (mountPoints.length === 0) throw new MediumNotFoundError(`${spec} is not mounted: mount it first (e.g. 'mkdir -p /mnt/usb && mount ${spec} /mnt/usb'), then run again`);
  const system = mountPoints.find((mountPoint) => SYSTEM_MOUNTS.has(mountPoint));
  if (system) throw new UsageError(`${spec} is mounted at ${system}: it holds the running system`);
  if (mountPoints.length > 1) throw new UsageError(`${spec} is mounted at several places (${mountPoints.join(', ')}): name the mount point with --drive`);
  const mountPoint = mountPoints[0]!;
  await refuseSystemDisk(spec, mountPoint, listDrives);
  return { mountPoint, device };
}

/** Whatever file system is named, the disk it lies on must not hold the running system (/, /boot, /usr, /var, /home...). */
async function refuseSystemDisk(spec: string, mountPoint: string | undefined, listDrives: DriveLister): Promise<void> {
  if (mountPoint === undefined) return;
  if (SYSTEM_MOUNTS.has(mountPoint)) throw new UsageError(`${spec} is on the file system mounted at ${mountPoint}: it holds the running system; name a USB drive`);
  const drive = (await listDrives()).find((candidate) => candidate.mountPoints.some((mount) => mount.path === mountPoint));
  const system = drive?.mountPoints.find((mount) => SYSTEM_MOUNTS.has(mount.path));
  if (drive && system) {
    throw new UsageError(`${spec} is on ${drive.device}, the disk that holds the running system (${system.path} is mounted from it): name a USB drive`);
  }
}

/** `/dev/sdb1` of `/dev/sdb`, `/dev/loop0p1` of `/dev/loop0`, `/dev/mmcblk0p2` of `/dev/mmcblk0`. */
function isPartitionOf(source: string, disk: string): boolean {
  return source.startsWith(disk) && /^p?\d+$/.test(source.slice(disk.length));
}

async function requireWritable(mountPoint: string, what: string): Promise<void> {
  try {
    await access(mountPoint, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new UsageError(`${what} is mounted read-only at ${mountPoint} (check its write-protect switch, then remount it read-write)`);
    throw new UsageError(`cannot write to ${mountPoint} (${code ?? String(error)})`);
  }
}

/** drivelist when its native module is built for this host, else the same facts from `lsblk`. */
export async function listSystemDrives(): Promise<DriveInfo[]> {
  const drivelist = await import('drivelist').catch(() => undefined);
  return drivelist ? (await drivelist.list()).map(fromDrivelist) : listDrivesWithLsblk();
}

function fromDrivelist(drive: import('drivelist').Drive): DriveInfo {
  return {
    device: drive.device,
    model: drive.description,
    sizeBytes: drive.size ?? undefined,
    usb: drive.isUSB === true,
    removable: drive.isRemovable && drive.isVirtual !== true,
    system: drive.isSystem,
    readOnly: drive.isReadOnly,
    mountPoints: drive.mountpoints.map((mount) => ({ path: mount.path, label: mount.label ?? undefined })),
  };
}

export async function listDrivesWithLsblk(): Promise<DriveInfo[]> {
  return (await listBlockDevices()).map(driveOf);
}

/** A disk as `--drive` sees it: the mounts of its partitions folded in. */
export function driveOf(disk: BlockDevice): DriveInfo {
  const usb = disk.transport === 'usb';
  return {
    device: disk.path,
    model: disk.model,
    sizeBytes: disk.sizeBytes,
    usb,
    removable: disk.removable,
    system: !usb && !disk.removable,
    readOnly: disk.readOnly,
    mountPoints: [disk, ...descendants(disk)].flatMap((device) => device.mountPoints.map((path) => ({ path, label: device.label }))),
  };
}

function descendants(device: BlockDevice): BlockDevice[] {
  return device.children.flatMap((child) => [child, ...descendants(child)]);
}
