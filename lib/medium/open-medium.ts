import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediumNotFoundError, MediumNotGivenError } from '../errors.js';
import { listBlockDevices, type BlockDevice } from '../fs/block-devices.js';
import { readMounts } from '../fs/mounts.js';
import { DirectoryMedium } from './directory-medium.js';
import { TUF_DIRECTORY } from './layout.js';
import type { Medium } from './medium.js';
import { TarMedium } from './tar-medium.js';
import { ZipMedium } from './zip-medium.js';

const LAYOUT_MARKER = TUF_DIRECTORY;

/**
 * Opens whatever `--src-dir` names, chosen by content, not by file name:
 * - a directory holding `tuf/` (or exactly one subdirectory that does: the medium's description names it);
 * - a plain tar archive (`ustar` magic), read in place;
 * - a zip archive (`PK` magic), read in place.
 * Archives must hold the layout at their root, as `bundle create` writes them.
 */
export async function openMedium(path: string): Promise<Medium> {
  const kind = await classify(path);
  if (kind === 'directory') return new DirectoryMedium(await layoutRoot(path));
  const medium = kind === 'tar' ? await TarMedium.open(path) : await ZipMedium.open(path);
  if ((await medium.stat(LAYOUT_MARKER))?.type !== 'directory') {
    await medium.close();
    throw new MediumNotFoundError(`${medium.description} holds no '${LAYOUT_MARKER}/' directory at its root: not an update bundle`);
  }
  return medium;
}

type MediumKind = 'directory' | 'tar' | 'zip';

async function classify(path: string): Promise<MediumKind> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new MediumNotFoundError(`${path} does not exist`);
  if (info.isDirectory()) return 'directory';
  if (!info.isFile()) throw new MediumNotFoundError(`${path} is neither a directory nor a file`);
  const head = await readHead(path);
  const kind = archiveKind(head);
  if (kind) return kind;
  throw new MediumNotFoundError(`${path} is neither a plain tar nor a zip archive${isGzip(head) ? ' (a compressed tar cannot be read in place: unpack it, or write the bundle as tar or zip)' : ''}`);
}

function archiveKind(head: Buffer): 'tar' | 'zip' | undefined {
  if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
  const signature = head.toString('latin1', 0, 4);
  if (signature === 'PK\x03\x04' || signature === 'PK\x05\x06') return 'zip';
  return undefined;
}

function isGzip(head: Buffer): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(512);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function layoutRoot(directory: string): Promise<string> {
  if (await isDirectory(join(directory, LAYOUT_MARKER))) return directory;
  const candidates = await subdirectoriesWithLayout(directory);
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) throw new MediumNotFoundError(`${directory} holds no '${LAYOUT_MARKER}/' directory, nor does any of its subdirectories`);
  throw new MediumNotFoundError(`${directory} holds several bundles (${candidates.join(', ')}): name one with --src-dir`);
}

async function subdirectoriesWithLayout(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of (await readdir(directory, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory() && (await isDirectory(join(directory, entry.name, LAYOUT_MARKER)))) found.push(join(directory, entry.name));
  }
  return found;
}

/** Candidate bundles directly in a mount root: the root itself, subdirectories holding `tuf/`, tar and zip files. */
async function bundlesUnder(root: string): Promise<string[]> {
  if (await isDirectory(join(root, LAYOUT_MARKER))) return [root];
  const found = await subdirectoriesWithLayout(root);
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (entry.isFile() && archiveKind(await readHead(join(root, entry.name)).catch(() => Buffer.alloc(0)))) found.push(join(root, entry.name));
  }
  return found.sort();
}

export interface RemovableMediaOptions {
  /** Mount points to search; by default those of removable or USB block devices (`lsblk`). */
  mountRoots?: string[];
}

/**
 * Where the bundle is when `--src-dir` is omitted: the one bundle found on a mounted removable drive.
 * Returns a path for `openMedium`; refuses when there is none or more than one (the message lists them) as
 * aklite-offline refuses a missing `--src-dir`.
 */
export async function findMediaOnRemovableDrives(options: RemovableMediaOptions = {}): Promise<string> {
  const roots = options.mountRoots ?? (await removableMountRoots());
  if (roots.length === 0) throw new MediumNotGivenError('no removable drive is mounted: plug in the update drive and mount it, or name the bundle with --src-dir');
  const bundles = (await Promise.all(roots.map(bundlesUnder))).flat();
  if (bundles.length === 1) return bundles[0]!;
  if (bundles.length === 0) throw new MediumNotGivenError(`no update bundle found on the removable drives (${roots.join(', ')}): name it with --src-dir`);
  throw new MediumNotGivenError(`several update bundles found (${bundles.join(', ')}): name one with --src-dir`);
}

/** Mount points of removable or USB block devices (or of their partitions) that this process sees mounted. */
async function removableMountRoots(): Promise<string[]> {
  const mounted = new Set((await readMounts()).map((mount) => mount.target));
  const roots: string[] = [];
  const visit = (device: BlockDevice, removable: boolean) => {
    const isRemovable = removable || device.removable || device.transport === 'usb';
    const mountPoint = device.mountPoints.find((path) => mounted.has(path));
    if (isRemovable && mountPoint) roots.push(mountPoint);
    for (const child of device.children) visit(child, isRemovable);
  };
  for (const device of await listBlockDevices()) visit(device, false);
  return roots.sort();
}
