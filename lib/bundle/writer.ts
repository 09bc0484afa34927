import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fsyncDirectory } from '../fs/atomic.js';
import { ContentVerificationError } from '../errors.js';
import type { ProgressListener } from '../progress.js';
import type { StreamDigest } from './hashing.js';
import { readBackRanges, type ReadBack, type WrittenRange } from './read-back.js';

/** One file to put in the bundle: its path in the layout, its size as listed, and how to read it. */
export interface BundleEntrySource {
  readonly path: string;
  readonly size: number;
  open(): Promise<Readable>;
}

export interface WrittenEntry {
  readonly digest: StreamDigest;
  /** True when a resumed `dir` write found the file already complete and left it alone. */
  readonly skipped: boolean;
}

/** A source file that changed between listing and copying would make the bundle lie about it. */
export function requireListedSize(entry: BundleEntrySource, digest: StreamDigest): void {
  if (digest.size !== entry.size) throw new ContentVerificationError(`${entry.path} changed while the bundle was written: ${digest.size} bytes read, ${entry.size} listed`);
}

/** Where `bundle create` puts the files, in the order given (sorted), then `finish` makes the result durable. */
export interface BundleWriter {
  write(entry: BundleEntrySource, onBytes: (bytes: number) => void): Promise<WrittenEntry>;
  finish(): Promise<void>;
  /** After `finish`: everything written, read from the drive (not the page cache) and compared with what was meant. */
  readBack(onProgress: ProgressListener): Promise<ReadBack>;
  /** Removes what an unfinished archive write left; a `dir` write keeps its complete files for resuming. */
  abort(): Promise<void>;
  /** After a sound read-back: drops what a `dir` write kept so that a second run could resume it (its claim). */
  complete(): Promise<void>;
}

/**
 * The archive file being written: appended to at a tracked position, or written once into a range reserved
 * earlier, under a temporary name beside the destination until `commit` syncs it and renames it into place. It
 * remembers the digest of every range it wrote (appends in a row under one label make one range), so that the
 * file can be read back from the drive and compared with what was meant to be there.
 */
export class ArchiveFile {
  position = 0;
  private readonly ranges: { label: string; offset: number; length: number; hash: Hash }[] = [];
  private label = '';

  private constructor(private readonly handle: FileHandle, private readonly temporary: string, private readonly destination: string) {}

  static async create(destination: string): Promise<ArchiveFile> {
    await mkdir(dirname(destination), { recursive: true });
    const temporary = join(dirname(destination), `.${basename(destination)}.${randomBytes(4).toString('hex')}.partial`);
    return new ArchiveFile(await open(temporary, 'wx', 0o644), temporary, destination);
  }

  async append(bytes: Uint8Array): Promise<void> {
    await this.write(bytes, this.position);
    this.position += bytes.length;
  }

  /** Names what the following writes hold (an entry's path), starting a range of their own. */
  beginRange(label: string): void {
    this.label = label;
  }

  /** Skips `length` bytes, to be written later with `fill` (a header that depends on what follows it). */
  reserve(length: number): number {
    const offset = this.position;
    this.position += length;
    return offset;
  }

  async fill(bytes: Uint8Array, offset: number): Promise<void> {
    await this.write(bytes, offset);
  }

  /** After `commit`: the file as the drive holds it, every range compared with what was written there. */
  readBack(onProgress: ProgressListener): Promise<ReadBack> {
    const ranges: WrittenRange[] = this.ranges.map(({ label, offset, length, hash }) => ({ label, offset, length, sha256: hash.copy().digest('hex') }));
    return readBackRanges(this.destination, ranges, onProgress);
  }

  async commit(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temporary, this.destination);
    await fsyncDirectory(dirname(this.destination));
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(this.temporary, { force: true });
  }

  private async write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
    const last = this.ranges.at(-1);
    if (last && last.label === this.label && last.offset + last.length === position) {
      last.hash.update(bytes);
      last.length += bytes.length;
    } else {
      this.ranges.push({ label: this.label, offset: position, length: bytes.length, hash: createHash('sha256').update(bytes) });
    }
  }
}
