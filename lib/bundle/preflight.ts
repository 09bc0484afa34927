import { lstat, statfs } from 'node:fs/promises';
import { formatBytes } from '../format.js';
import { dirname, join } from 'node:path';
import { InsufficientSpaceError, UsageError } from '../errors.js';
import { MANIFEST_PATH } from './manifest.js';
import type { SourceFile } from './source.js';

export type BundleFormat = 'dir' | 'tar' | 'zip';

const MSDOS_SUPER_MAGIC = 0x4d44;
const FAT32_FILE_LIMIT = 2 ** 32 - 1;
const BLOCK_SLACK = 4096;
/** Room for bundle.json: a generous line per file plus the target list. */
const MANIFEST_BYTES_PER_FILE = 160;
const MANIFEST_BASE_BYTES = 64 << 10;

/**
 * Checks the destination before anything is written: no finished bundle there unless `force`, enough free
 * space for what remains to write, and no file over FAT32's 4 GiB limit on a vfat file system.
 */
export async function preflight(destination: string, format: BundleFormat, files: readonly SourceFile[], force: boolean): Promise<void> {
  const existing = format === 'dir' ? join(destination, MANIFEST_PATH) : destination;
  const info = await lstat(destination).catch(() => undefined);
  if (format === 'dir' && info && !info.isDirectory()) throw new UsageError(`${destination} exists and is not a directory`);
  if (!force && (await lstat(existing).catch(() => undefined))) {
    throw new UsageError(`${destination} already holds a bundle; use --force to replace it`);
  }
  const needed = format === 'dir' ? await directoryBytesToWrite(destination, files) : archiveSize(format, files);
  const filesystem = await statfs(await nearestExisting(destination));
  const available = filesystem.bavail * filesystem.bsize;
  if (needed > available) {
    throw new InsufficientSpaceError(`${destination} needs ${formatBytes(needed)} but its file system has ${formatBytes(available)} free`);
  }
  if (filesystem.type === MSDOS_SUPER_MAGIC) {
    if (format !== 'dir' && needed > FAT32_FILE_LIMIT) {
      throw new UsageError(`the ${format} archive would be ${formatBytes(needed)}, over FAT32's 4 GiB file limit on ${destination}: use --format dir, or an exFAT/ext4 drive`);
    }
    const huge = files.find((file) => file.size > FAT32_FILE_LIMIT);
    if (huge) throw new UsageError(`${huge.path} is ${formatBytes(huge.size)}, over FAT32's 4 GiB file limit on ${destination}: use an exFAT or ext4 drive`);
  }
}

/** An upper bound of the archive's size (tar: headers, PAX records and padding; zip: headers and zip64 fields). */
export function archiveSize(format: 'tar' | 'zip', files: readonly SourceFile[]): number {
  const manifest = MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_FILE * files.length;
  if (format === 'tar') {
    const directories = new Set(files.flatMap((file) => file.path.split('/').slice(0, -1).map((_, index, parts) => parts.slice(0, index + 1).join('/'))));
    return files.reduce((total, file) => total + 3 * 512 + Math.ceil(file.size / 512) * 512, 0) + directories.size * 1536 + manifest + 2048;
  }
  return files.reduce((total, file) => total + 30 + 46 + 2 * (Buffer.byteLength(file.path) + 28) + file.size, 0) + manifest + 98;
}

/** What a resumed `dir` write still has to write: files already present with their size count as done. */
async function directoryBytesToWrite(destination: string, files: readonly SourceFile[]): Promise<number> {
  let total = MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_FILE * files.length;
  for (const file of files) {
    const present = await lstat(join(destination, file.path)).catch(() => undefined);
    if (!(present?.isFile() && present.size === file.size)) total += Math.ceil(file.size / BLOCK_SLACK) * BLOCK_SLACK;
  }
  return total;
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  while (!(await lstat(current).catch(() => undefined))?.isDirectory()) {
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return current;
}

