import type { Stats } from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { formatBytes } from '../format.js';
import { DirectoryMedium } from '../medium/directory-medium.js';
import { openMedium } from '../medium/open-medium.js';
import { safeRelativePath } from '../medium/safe-path.js';
import { parseStrictJson } from '../tuf/strict-json.js';
import { MANIFEST_PATH, readManifest, type ManifestRecord } from './manifest.js';

/**
 * What a destination holds before bundle-create writes there, and what of it bundle-create may replace: only what it
 * wrote itself. It knows that from two records: a finished bundle's bundle.json (its file list), and, while a
 * directory bundle is being written, the claim beside it listing every path the write may leave behind (so that an
 * interrupted write resumes without --force, and a run with another selection removes only what an earlier run wrote).
 * Anything else is the user's: a directory bundle is written beside it when no path collides, and refused with the
 * list of what is in the way when one does; an archive never replaces a file that is not a bundle, nor anything that
 * is not a regular file (a device node, a FIFO, a directory, a link).
 */

/** The claim of an unfinished directory bundle, at its root; removed once the bundle is written and read back. */
export const WRITE_CLAIM = '.fioup-offline-writing.json';
const CLAIM_FORMAT = 'fioup-offline-bundle-claim';
const MAX_RECORD_BYTES = 64 << 20;
const LISTED_COLLISIONS = 10;

/** What bundle-create wrote at a directory destination, by path: it may replace or remove these, and nothing else. */
export interface DirectoryDestination {
  readonly owned: ReadonlySet<string>;
}

/**
 * A directory destination: absent, or a directory where none of `paths` (bundle.json included) is taken by something
 * bundle-create did not write. A finished bundle there is replaced only with `force`.
 */
export async function checkDirectoryDestination(destination: string, paths: readonly string[], force: boolean): Promise<DirectoryDestination> {
  const info = await lstatIfPresent(destination);
  if (!info) return { owned: new Set() };
  if (!info.isDirectory()) {
    throw new UsageError(`${destination} is ${await describeEntry(destination, info)}, not a directory: name a new or existing directory for the bundle`);
  }
  const previous = await previousDirectoryBundle(destination);
  if (previous.manifest && !force) throw alreadyABundle(destination, previous.manifest);
  const owned = new Set(await readWriteClaim(destination));
  if (previous.manifest) for (const path of [...previous.manifest.files.map((file) => file.path), MANIFEST_PATH]) owned.add(path);
  const collisions = await collisionsIn(destination, [...paths, MANIFEST_PATH], owned);
  if (previous.notOurs !== undefined && collisions.has(MANIFEST_PATH)) {
    collisions.set(MANIFEST_PATH, `${collisions.get(MANIFEST_PATH)!}, not one bundle-create wrote (${previous.notOurs})`);
  }
  if (collisions.size > 0) throw occupied(destination, collisions, force);
  return { owned };
}

/** An archive destination: absent, or a bundle bundle-create wrote, replaced only with `force`. */
export async function checkArchiveDestination(destination: string, format: 'tar' | 'zip', force: boolean): Promise<void> {
  const info = await lstatIfPresent(destination);
  if (!info) return;
  const what = await describeEntry(destination, info);
  if (!info.isFile()) {
    const drive = info.isBlockDevice() ? ': to put the bundle on a drive, mount it and use --drive with the device, or name a file on its file system' : '';
    throw new UsageError(`${destination} is ${what}: bundle-create writes the ${format} archive as a new file and replaces only a bundle it wrote${drive}`);
  }
  const previous = await archiveBundle(destination);
  if (previous.notOurs !== undefined) {
    throw new UsageError(`${destination} is ${what} that bundle-create did not write (${previous.notOurs}): it replaces only a bundle it wrote; move the file away or name another destination`);
  }
  if (!force) throw alreadyABundle(destination, previous.manifest!);
}

/** The paths an unfinished directory write claimed; none when there is no claim. */
async function readWriteClaim(root: string): Promise<string[]> {
  const path = join(root, WRITE_CLAIM);
  const info = await lstatIfPresent(path);
  if (!info) return [];
  const damaged = (why: string) => new UsageError(`${path}, left by an interrupted bundle-create, ${why}: remove it (the files it claimed are then left alone as the user's)`);
  if (!info.isFile() || info.size > MAX_RECORD_BYTES) throw damaged(`is ${await describeEntry(path, info)}`);
  let claim: { format?: unknown; paths?: unknown };
  try {
    claim = parseStrictJson(await readFile(path), WRITE_CLAIM) as typeof claim;
  } catch (error) {
    throw damaged(`cannot be read: ${(error as Error).message}`);
  }
  if (claim?.format !== CLAIM_FORMAT || !Array.isArray(claim.paths)) throw damaged(`is not a claim of '${CLAIM_FORMAT}'`);
  return claim.paths.map((entry, index) => {
    if (typeof entry !== 'string' || safeRelativePathOrUndefined(entry) !== entry) throw damaged(`has a bad path at paths[${index}]`);
    return entry;
  });
}

/** Records, durably, the paths a directory write may leave at `root`: they are bundle-create's until the claim goes. */
export async function writeWriteClaim(root: string, paths: Iterable<string>): Promise<void> {
  await writeFileAtomic(join(root, WRITE_CLAIM), `${JSON.stringify({ format: CLAIM_FORMAT, paths: [...new Set(paths)].sort() })}\n`);
}

interface PreviousBundle {
  readonly manifest?: ManifestRecord;
  /** Why what is there is not a bundle bundle-create wrote. */
  readonly notOurs?: string;
}

async function previousDirectoryBundle(root: string): Promise<PreviousBundle> {
  const info = await lstatIfPresent(join(root, MANIFEST_PATH));
  if (!info) return {};
  if (!info.isFile()) return { notOurs: 'not a regular file' };
  return manifestOf(() => readManifest(new DirectoryMedium(root)));
}

async function archiveBundle(path: string): Promise<PreviousBundle> {
  return manifestOf(async () => {
    const medium = await openMedium(path);
    try {
      return await readManifest(medium);
    } finally {
      await medium.close();
    }
  });
}

async function manifestOf(read: () => Promise<ManifestRecord>): Promise<PreviousBundle> {
  try {
    return { manifest: await read() };
  } catch (error) {
    return { notOurs: (error as Error).message };
  }
}

/**
 * Each of `paths`, or a directory on the way to one, that is there and not a regular file bundle-create wrote (a
 * file it wrote where a directory is now needed is removed before the write), with what it is.
 */
async function collisionsIn(root: string, paths: readonly string[], owned: ReadonlySet<string>): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const directories = new Map<string, Stats | undefined>();
  for (const path of paths) {
    const parts = path.split('/');
    let reachable = true;
    for (let depth = 1; depth < parts.length && reachable; depth++) {
      const ancestor = parts.slice(0, depth).join('/');
      if (!directories.has(ancestor)) directories.set(ancestor, await lstatIfPresent(join(root, ancestor)));
      const info = directories.get(ancestor);
      reachable = info?.isDirectory() ?? false;
      if (info && !reachable && !(owned.has(ancestor) && info.isFile()) && !found.has(ancestor)) {
        found.set(ancestor, `${await describeEntry(join(root, ancestor), info)}, where the bundle needs a directory`);
      }
    }
    if (!reachable) continue;
    const info = await lstatIfPresent(join(root, path));
    if (info && !(owned.has(path) && info.isFile())) found.set(path, await describeEntry(join(root, path), info));
  }
  return found;
}

function occupied(destination: string, collisions: ReadonlyMap<string, string>, force: boolean): UsageError {
  const lines = [...collisions].slice(0, LISTED_COLLISIONS).map(([path, what]) => `  ${path}: ${what}`);
  if (collisions.size > LISTED_COLLISIONS) lines.push(`  and ${collisions.size - LISTED_COLLISIONS} more`);
  return new UsageError([
    `${destination} holds ${collisions.size === 1 ? 'an entry' : `${collisions.size} entries`} bundle-create did not write, in the way of the bundle's files:`,
    ...lines,
    `bundle-create never replaces what it did not write${force ? ' (--force replaces only a bundle it wrote)' : ''}: move them away, or write the bundle to a new or empty directory`,
  ].join('\n'));
}

function alreadyABundle(destination: string, manifest: ManifestRecord): UsageError {
  const tool = `${manifest.tool?.name ?? 'fioup-offline'} ${manifest.tool?.version ?? ''}`.trim();
  return new UsageError(`${destination} already holds a bundle (written by ${tool} at ${manifest.createdAt}, ${manifest.files.length} files); use --force to replace it`);
}

/** What is at a path, for messages: "a file of 1.2 MiB", "a block device (7:3)", "a symbolic link to /home/me". */
async function describeEntry(path: string, info: Stats): Promise<string> {
  if (info.isFile()) return `a file of ${formatBytes(info.size)}`;
  if (info.isDirectory()) return 'a directory';
  if (info.isSymbolicLink()) return `a symbolic link to ${await readlink(path).catch(() => '(unreadable)')}`;
  const device = `(${(info.rdev >> 8) & 0xfff}:${(info.rdev & 0xff) | ((info.rdev >> 12) & 0xfff00)})`;
  if (info.isBlockDevice()) return `a block device ${device}`;
  if (info.isCharacterDevice()) return `a character device ${device}`;
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isSocket()) return 'a socket';
  return 'a file system object of an unknown kind';
}

async function lstatIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

function safeRelativePathOrUndefined(path: string): string | undefined {
  try {
    return safeRelativePath(path);
  } catch {
    return undefined;
  }
}
