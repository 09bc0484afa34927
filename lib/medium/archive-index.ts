import type { Readable } from 'node:stream';
import { FileTooLargeError, InvalidMetadataError, MetadataNotFoundError, UnsafePathError } from '../errors.js';
import type { Medium, MediumEntry } from './medium.js';
import { safeRelativePath } from './safe-path.js';

/** Where a regular file's bytes live inside an archive; `location` is whatever the reader needs to find them. */
export interface IndexedFile<Location> {
  readonly size: number;
  readonly location: Location;
}

/**
 * The most entries an archive medium may have. Real bundles hold a few tens of thousands, nearly all of them the
 * objects of `ostree_repo/`; the index of this many takes a few seconds and a few hundred MiB, a bound a device can
 * afford before anything in the archive is trusted.
 */
export const MAX_ARCHIVE_ENTRIES = 500_000;

/** An archive with more entries than a medium may have: refused (15) before its index grows any further. */
export function tooManyEntries(description: string, count?: number): InvalidMetadataError {
  return new InvalidMetadataError(`${description}: ${count === undefined ? 'more than' : `${count} entries, more than`} the ${MAX_ARCHIVE_ENTRIES} entries a bundle may hold: not a bundle`);
}

/**
 * The tree of an archive's entries, built once when the archive is opened. Names are checked with
 * `safeRelativePath`; a duplicate name, or a name that is both a file and a directory, refuses the archive, and so
 * does an entry past the `MAX_ARCHIVE_ENTRIES`th. Directories that only appear as parents of files are implied.
 */
export class ArchiveIndex<Location> {
  private readonly files = new Map<string, IndexedFile<Location>>();
  private readonly directories = new Map<string, Set<string>>([['', new Set()]]);
  private entries = 0;

  constructor(private readonly description: string) {}

  addFile(rawName: string, file: IndexedFile<Location>): void {
    this.count();
    const path = this.checkedName(rawName);
    if (this.files.has(path) || this.directories.has(path)) throw new UnsafePathError(`${this.description}: '${path}' appears more than once`);
    this.addParents(path);
    this.files.set(path, file);
  }

  addDirectory(rawName: string): void {
    this.count();
    const path = this.checkedName(rawName);
    if (this.files.has(path)) throw new UnsafePathError(`${this.description}: '${path}' is both a file and a directory`);
    if (this.directories.has(path)) return;
    this.addParents(path);
    this.directories.set(path, new Set());
  }

  stat(path: string): MediumEntry | undefined {
    const safe = path === '' ? '' : safeRelativePath(path);
    const file = this.files.get(safe);
    if (file) return { path: safe, type: 'file', size: file.size };
    if (this.directories.has(safe)) return { path: safe, type: 'directory', size: 0 };
    return undefined;
  }

  list(path: string): string[] {
    const safe = path === '' ? '' : safeRelativePath(path);
    return [...(this.directories.get(safe) ?? [])].sort();
  }

  /** The file's entry, refusing a missing path, a directory, or (when given) a size over `maxBytes`. */
  file(path: string, maxBytes = Number.POSITIVE_INFINITY): IndexedFile<Location> & { path: string } {
    const safe = safeRelativePath(path);
    const file = this.files.get(safe);
    if (!file) {
      if (this.directories.has(safe)) throw new UnsafePathError(`${this.description}: '${safe}' is not a regular file`);
      throw new MetadataNotFoundError(`${this.description}: '${safe}' not found`);
    }
    if (file.size > maxBytes) throw new FileTooLargeError(`${this.description}: ${safe}`, file.size, maxBytes);
    return { ...file, path: safe };
  }

  private count(): void {
    if (++this.entries > MAX_ARCHIVE_ENTRIES) throw tooManyEntries(this.description);
  }

  private checkedName(rawName: string): string {
    return safeRelativePath(rawName, `${this.description}: entry name`);
  }

  /** Records `path` in its parent directory, creating the parents it implies (each checked not to be a file). */
  private addParents(path: string): void {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    if (this.files.has(parent)) throw new UnsafePathError(`${this.description}: '${parent}' is both a file and a directory`);
    let children = this.directories.get(parent);
    if (!children) {
      this.addParents(parent);
      children = new Set();
      this.directories.set(parent, children);
    }
    children.add(path.slice(slash + 1));
  }
}

/** What tar and zip media share: an index built when the archive is opened, which answers without reading data. */
export abstract class IndexedArchiveMedium<Location> implements Medium {
  readonly localRoot = undefined;

  protected constructor(readonly description: string, protected readonly index: ArchiveIndex<Location>) {}

  async stat(path: string): Promise<MediumEntry | undefined> {
    return this.index.stat(path);
  }

  async list(path: string): Promise<string[]> {
    return this.index.list(path);
  }

  abstract readFile(path: string, maxBytes: number): Promise<Buffer>;
  abstract open(path: string): Promise<Readable>;
  abstract close(): Promise<void>;
}
