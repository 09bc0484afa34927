import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory } from '../fs/atomic.js';
import { LAYOUT_DIRECTORIES } from '../medium/layout.js';
import type { ProgressListener } from '../progress.js';
import { pumpHashing, type StreamDigest } from './hashing.js';
import type { BundleFile } from './manifest.js';
import { readBackFiles, type ReadBack } from './read-back.js';
import { requireListedSize, type BundleEntrySource, type BundleWriter, type WrittenEntry } from './writer.js';

const PARTIAL_SUFFIX = '.fioup-partial';

/**
 * Writes the layout as plain files and directories (no links: FAT-friendly). Each file is written under a
 * temporary name and renamed once complete and synced, so an interrupted write never leaves a file that looks
 * complete. A second run resumes: a file already present with the right size and the source's sha256 (both
 * read to check) is kept; anything else in the layout directories that the bundle does not list is removed.
 */
export class DirectoryBundleWriter implements BundleWriter {
  private readonly touchedDirectories = new Set<string>();
  /** Every file of the bundle as it was written (or found complete), for the read-back. */
  private readonly written: BundleFile[] = [];

  private constructor(private readonly root: string) {}

  static async create(root: string, paths: readonly string[]): Promise<DirectoryBundleWriter> {
    await mkdir(root, { recursive: true });
    await pruneUnlisted(root, new Set(paths));
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
    const temporary = join(dirname(target), `.${basename(target)}${PARTIAL_SUFFIX}`);
    const handle = await open(temporary, 'w', 0o644);
    let digest: StreamDigest;
    try {
      digest = await pumpHashing(await entry.open(), async (chunk) => void (await handle.write(chunk)), onBytes);
      requireListedSize(entry, digest);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rm(target, { recursive: true, force: true });
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

  /** The digest of an already-complete copy at `target`, or undefined when it must be (re)written. */
  private async completeCopy(entry: BundleEntrySource, target: string, onBytes: (bytes: number) => void): Promise<StreamDigest | undefined> {
    const info = await lstat(target).catch(() => undefined);
    if (!info?.isFile() || info.size !== entry.size) return undefined;
    const [source, copy] = await Promise.all([pumpHashing(await entry.open(), undefined, onBytes), pumpHashing(createReadStream(target))]);
    return source.sha256 === copy.sha256 && source.size === copy.size ? source : undefined;
  }
}

/** `bundle create` owns the layout's top-level directories in a destination, and prunes them. */
async function pruneUnlisted(root: string, listed: ReadonlySet<string>): Promise<void> {
  for (const top of LAYOUT_DIRECTORIES) {
    const entries = await readdir(join(root, top), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isDirectory()) continue;
      const absolute = join(entry.parentPath ?? entry.path, entry.name);
      const relative = absolute.slice(root.length + 1);
      if (!listed.has(relative)) await rm(absolute, { force: true });
    }
  }
}
