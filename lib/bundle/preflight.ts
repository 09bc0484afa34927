import { lstat, realpath, statfs } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { formatBytes } from '../format.js';
import { InsufficientSpaceError, UsageError } from '../errors.js';
import { MAX_ARCHIVE_ENTRIES } from '../medium/archive-index.js';
import { checkArchiveDestination, checkDirectoryDestination, type DirectoryDestination } from './destination.js';
import type { SourceFile } from './source.js';

export type BundleFormat = 'dir' | 'tar' | 'zip';

/**
 * The format of a bundle written to `destination`: a name ending in `.tar` or `.zip` says it (and `--format`, when
 * given, must agree), anything else is what `--format` asks, a directory by default.
 */
export function bundleFormatFor(destination: string, asked: BundleFormat | undefined): BundleFormat {
  const extension = extname(destination).toLowerCase();
  const named = extension === '.tar' ? 'tar' : extension === '.zip' ? 'zip' : undefined;
  if (named && asked && asked !== named) {
    throw new UsageError(`${destination} names a ${named} archive, but --format ${asked} was given: drop --format, or name the destination for ${asked}`);
  }
  return named ?? asked ?? 'dir';
}

/**
 * A bundle written into one of its downloads would become part of it (and a directory bundle prunes what it does
 * not list): the destination must lie outside every source.
 */
export async function requireOutsideSources(destination: string, sources: readonly string[]): Promise<void> {
  const target = await canonicalPath(destination);
  for (const source of sources) {
    const root = await canonicalPath(source);
    const fromRoot = relative(root, target);
    if (fromRoot !== '..' && !fromRoot.startsWith(`..${sep}`)) {
      throw new UsageError(`the destination ${destination} is inside the download ${source}: write the bundle somewhere else`);
    }
  }
}

/** `path` with links resolved as far as it exists (a destination usually does not, yet). */
async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  const existing = await realpath(absolute).catch(() => undefined);
  if (existing !== undefined) return existing;
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(await canonicalPath(parent), basename(absolute));
}

const MSDOS_SUPER_MAGIC = 0x4d44;
const FAT32_FILE_LIMIT = 2 ** 32 - 1;
const BLOCK_SLACK = 4096;
/** Room for bundle.json: a generous line per file plus the target list. */
const MANIFEST_BYTES_PER_FILE = 160;
const MANIFEST_BASE_BYTES = 64 << 10;

/**
 * Checks the destination before anything is written: nothing there that bundle-create did not write in the way
 * (`destination.ts`), no finished bundle unless `force`, enough free space for what remains to write, and no file
 * over FAT32's 4 GiB limit on a vfat file system. Returns what of a directory destination bundle-create wrote.
 */
export async function preflight(destination: string, format: BundleFormat, files: readonly SourceFile[], force: boolean): Promise<DirectoryDestination> {
  let claimed: DirectoryDestination = { owned: new Set() };
  if (format === 'dir') claimed = await checkDirectoryDestination(destination, files.map((file) => file.path), force);
  else {
    const entries = files.length + directoriesOf(files).size + 1;
    if (entries > MAX_ARCHIVE_ENTRIES) {
      throw new UsageError(`a ${format} bundle of the download would hold ${entries} entries, more than the ${MAX_ARCHIVE_ENTRIES} a device reads from an archive: use --format dir`);
    }
    await checkArchiveDestination(destination, format, force);
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
  return claimed;
}

/** An upper bound of the archive's size (tar: headers, PAX records and padding; zip: headers and zip64 fields). */
export function archiveSize(format: 'tar' | 'zip', files: readonly SourceFile[]): number {
  const manifest = MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_FILE * files.length;
  if (format === 'tar') {
    return files.reduce((total, file) => total + 3 * 512 + Math.ceil(file.size / 512) * 512, 0) + directoriesOf(files).size * 1536 + manifest + 2048;
  }
  return files.reduce((total, file) => total + 30 + 46 + 2 * (Buffer.byteLength(file.path) + 28) + file.size, 0) + manifest + 98;
}

/** The directories the files' paths imply (a tar bundle writes an entry for each). */
function directoriesOf(files: readonly SourceFile[]): Set<string> {
  const directories = new Set<string>();
  for (const file of files) {
    for (let slash = file.path.indexOf('/'); slash !== -1; slash = file.path.indexOf('/', slash + 1)) directories.add(file.path.slice(0, slash));
  }
  return directories;
}

/** What a resumed `dir` write still has to write: files already present with their size count as done. */
async function directoryBytesToWrite(destination: string, files: readonly SourceFile[]): Promise<number> {
  let total = MANIFEST_BASE_BYTES + MANIFEST_BYTES_PER_FILE * files.length;
  const started = await lstat(destination).catch(() => undefined);
  for (const file of files) {
    const present = started && (await lstat(join(destination, file.path)).catch(() => undefined));
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

