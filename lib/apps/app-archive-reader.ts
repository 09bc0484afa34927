import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ContentVerificationError, FioupError, UnsafePathError } from '../errors.js';
import { safeRelativePath } from '../medium/safe-path.js';
import type { BlobSource } from '../oci/blob-source.js';
import type { BlobDescriptor } from '../oci/descriptor.js';
import { digestOfHex } from '../oci/digest.js';
import { readTar } from './tar-reader.js';

/**
 * The app archive (a gzip tar of the app directory, which composeapp calls the app bundle) and its index: every
 * file's path and sha256 digest. Apps published without an index have none: the archive's digest vouches for it whole.
 */
export interface AppArchive {
  readonly blob: BlobDescriptor;
  readonly index: ReadonlyMap<string, string> | undefined;
}

export interface AppArchiveFile {
  readonly path: string;
  readonly size: number;
  /** Permission bits as archived. */
  readonly mode: number;
}

/** What to do with the archive's entries, in archive order. Paths are safe, relative and normalised. */
export interface AppArchiveVisitor {
  directory?(path: string): Promise<void>;
  /** Read all of `content` or none of it before returning; the file's digest is checked after. */
  file(file: AppArchiveFile, content: AsyncIterable<Buffer>): Promise<void>;
}

/** What an archive holds once extracted: the bytes of its files, and its entries (files and directories). */
export interface ArchiveExpansion {
  readonly bytes: number;
  readonly entries: number;
}

/** Bytes the archive may expand to: a guard against a gzip bomb (composeapp allows a 1 GiB archive). */
const MAX_APP_ARCHIVE_EXPANDED_BYTES = 2 * 1024 ** 3;

/**
 * Streams the archive from the blob source (which checks its digest), gunzip and the tar reader, and hands every
 * entry to `visitor` after checking it: only regular files and directories, safe names, no duplicates and, when
 * the archive has an index, each file listed in it with the same sha256 and every index entry present. Throws
 * UnsafePathError for links, devices and unsafe names, ContentVerificationError for the rest, always naming the
 * entry. A visitor must treat what it received as unverified until this resolves: only then has the archive's
 * digest been checked.
 */
export async function readAppArchive(blobs: BlobSource, archive: AppArchive, visitor: AppArchiveVisitor): Promise<ArchiveExpansion> {
  const what = archive.blob.what;
  const seen = new Set<string>();
  const files = new Set<string>();
  let expanded = 0;
  const tar = pipeline(await blobs.open(archive.blob), createGunzip(), () => {});
  try {
    for await (const entry of readTar(tar, what)) {
      const where = `entry ${JSON.stringify(entry.path)} of ${what}`;
      if (entry.type !== 'file' && entry.type !== 'directory') {
        throw new UnsafePathError(`${where} is a ${entry.type}: an app archive holds only regular files and directories`);
      }
      if (entry.type === 'directory' && /^(\.\/?)$/.test(entry.path)) continue; // the archive's own root, as `tar -C dir .` writes it
      const path = safeRelativePath(entry.path, `${what} entry`);
      if (seen.has(path) || files.has(path)) throw new ContentVerificationError(`${where} appears twice`);
      if (entry.type === 'directory') {
        if (entry.size !== 0) throw new ContentVerificationError(`${where} is a directory with content`);
        seen.add(path);
        await visitor.directory?.(path);
        continue;
      }
      files.add(path);
      const expected = archive.index?.get(path);
      if (archive.index && !expected) throw new ContentVerificationError(`${where} is not listed in the archive index`);
      expanded += entry.size;
      if (expanded > MAX_APP_ARCHIVE_EXPANDED_BYTES) throw new ContentVerificationError(`${what}: expands to more than ${MAX_APP_ARCHIVE_EXPANDED_BYTES} bytes`);
      const hash = createHash('sha256');
      const hashed = (async function* () {
        for await (const chunk of readingArchive(entry.content())) {
          hash.update(chunk);
          yield chunk;
        }
      })();
      try {
        await visitor.file({ path, size: entry.size, mode: entry.mode }, hashed);
      } catch (error) {
        throw error instanceof ArchiveReadFailure || error instanceof FioupError ? error : new VisitorFailure(error);
      }
      for await (const _chunk of hashed);
      const actual = digestOfHex(hash.digest('hex'));
      if (expected !== undefined && actual !== expected) throw new ContentVerificationError(`${where} has digest ${actual}, the archive index says ${expected}`);
    }
  } catch (failure) {
    tar.destroy();
    // What the visitor could not do (a full or read-only disk) is the device's fault, not the archive's.
    if (failure instanceof VisitorFailure) throw failure.cause;
    const error = failure instanceof ArchiveReadFailure ? failure.cause : failure;
    if (error instanceof FioupError) throw error;
    throw new ContentVerificationError(`${what}: not a valid gzip tar (${(error as Error).message})`, { cause: error });
  }
  const absent = [...(archive.index?.keys() ?? [])].filter((path) => !files.has(path));
  if (absent.length > 0) throw new ContentVerificationError(`${what}: lacks ${absent.map((path) => JSON.stringify(path)).join(', ')} listed in its index`);
  return { bytes: expanded, entries: seen.size + files.size };
}

/** An error of the visitor's own work, passed through as it is. */
class VisitorFailure {
  constructor(readonly cause: unknown) {}
}

/** An error reading the archive (the medium, gunzip, the tar), however deep in the visitor's work it surfaced. */
class ArchiveReadFailure {
  constructor(readonly cause: unknown) {}
}

async function* readingArchive(content: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* content;
  } catch (error) {
    throw new ArchiveReadFailure(error);
  }
}
