import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory } from '../fs/atomic.js';
import { DirectoryMedium } from '../medium/directory-medium.js';
import type { ProgressListener } from '../progress.js';
import { pumpHashing, type StreamDigest } from './hashing.js';
import { WRITE_CLAIM, writeWriteClaim } from './destination.js';
import { MANIFEST_PATH, type BundleFile } from './manifest.js';
import { readBackFiles, type ReadBack } from './read-back.js';
import { requireListedSize, type BundleEntrySource, type BundleWriter, type WrittenEntry } from './writer.js';

const PARTIAL_SUFFIX = '.fioup-partial';

/**
 * Writes the layout as plain files and directories (no links: FAT-friendly). Each file is written under a
 * temporary name and renamed once complete and synced, so an interrupted write never leaves a file that looks
 * complete. Before the first file, a claim (`destination.ts`) records every path the write may leave: a second run
 * resumes, keeping a file already present with the right size and the source's sha256 (both read to check), and
 * removes what an earlier write of bundle-create left that this bundle does not list. Nothing else is touched:
 * preflight refused a destination where anything bundle-create did not write is in the way.
 */
export class DirectoryBundleWriter implements BundleWriter {
  private readonly touchedDirectories = new Set<string>();
  /** Every file of the bundle as it was written (or found complete), for the read-back. */
  private readonly written: BundleFile[] = [];

  private constructor(private readonly root: string) {}

  /** `paths`: the bundle's, bundle.json included; `owned`: what bundle-create wrote there before (preflight). */
  static async create(root: string, paths: readonly string[], owned: ReadonlySet<string>): Promise<DirectoryBundleWriter> {
    await mkdir(root, { recursive: true });
    await writeWriteClaim(root, [...owned, ...paths]);
    const listed = new Set(paths);
    // A previous bundle's bundle.json goes first: until the new one is written, the directory is no finished bundle.
    if (owned.has(MANIFEST_PATH)) await removeOwnFile(root, MANIFEST_PATH);
    for (const path of owned) if (!listed.has(path)) await removeOwnFile(root, path);
    for (const path of new Set([...owned, ...paths])) await removeOwnFile(root, partialPath(path));
    await writeWriteClaim(root, paths);
    return new DirectoryBundleWriter(root);
  }

  async write(entry: BundleEntrySource, onBytes: (bytes: number) => void): Promise<WrittenEntry> {
    const target = join(this.root, entry.path);
    const present = await this.completeCopy(entry, target, onBytes);
    if (present) {
      this.written.push({ path: entry.path, size: present.size, sha256: present.sha256 });
      return { digest: present, skipped: true };
    }
    await mkdir(dirname(target), { recursive: true });
    const temporary = join(this.root, partialPath(entry.path));
    const handle = await open(temporary, 'wx', 0o644);
    let digest: StreamDigest;
    try {
      digest = await pumpHashing(await entry.open(), async (chunk) => void (await handle.write(chunk)), onBytes);
      requireListedSize(entry, digest);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    this.touchedDirectories.add(dirname(target));
    this.written.push({ path: entry.path, size: digest.size, sha256: digest.sha256 });
    return { digest, skipped: false };
  }

  async finish(): Promise<void> {
    for (const directory of this.touchedDirectories) await fsyncDirectory(directory);
  }

  readBack(onProgress: ProgressListener): Promise<ReadBack> {
    return readBackFiles(this.root, this.written, onProgress);
  }

  async abort(): Promise<void> {}

  async complete(): Promise<void> {
    await rm(join(this.root, WRITE_CLAIM), { force: true });
    await fsyncDirectory(this.root);
  }

  /** The digest of an already-complete copy at `target`, or undefined when it must be (re)written. */
  private async completeCopy(entry: BundleEntrySource, target: string, onBytes: (bytes: number) => void): Promise<StreamDigest | undefined> {
    const info = await lstat(target).catch(() => undefined);
    if (!info?.isFile() || info.size !== entry.size) return undefined;
    const [source, copy] = await Promise.all([pumpHashing(await entry.open(), undefined, onBytes), pumpHashing(createReadStream(target))]);
    return source.sha256 === copy.sha256 && source.size === copy.size ? source : undefined;
  }
}

/** Where a file of the bundle is written before its rename: a name bundle-create owns. */
function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}${PARTIAL_SUFFIX}`);
}

/** Removes a regular file bundle-create wrote at `path`, reached without links (as a device's reader would). */
async function removeOwnFile(root: string, path: string): Promise<void> {
  const entry = await new DirectoryMedium(root).stat(path).catch(() => undefined);
  if (entry?.type === 'file') await rm(join(root, entry.path));
}
