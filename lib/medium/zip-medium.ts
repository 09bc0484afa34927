import { open, stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import StreamZip from 'node-stream-zip';
import { ContentVerificationError, FioupError, InvalidMetadataError, UnsafePathError } from '../errors.js';
import { ArchiveIndex, IndexedArchiveMedium, MAX_ARCHIVE_ENTRIES, tooManyEntries } from './archive-index.js';
import { ZIP_METHODS, ZIP_RECORD_SIZES, ZIP_SIGNATURES } from '../archive/zip-format.js';

const UNIX_HOST = 3;
const FILE_TYPE_MASK = 0o170000;
const REGULAR_FILE = 0o100000;
const DIRECTORY = 0o040000;
const MAX_COMMENT_SIZE = 0xffff;

/**
 * A medium that is a zip archive (stored or deflated entries, zip64), read in place through its central
 * directory. Refused as a whole when opened (UnsafePathError): unsafe names (`..`, absolute, backslashes),
 * duplicate names, entries whose Unix mode is a link or a device, encrypted entries, unknown compression
 * methods, entries whose data would lie past the end of the file, and an archive whose end record declares more
 * than `MAX_ARCHIVE_ENTRIES` entries (before its central directory is read). A deflated entry is never inflated past
 * the size its header declares (zip bombs stop there, with ContentVerificationError); an entry whose local header,
 * CRC-32 or deflate stream is damaged fails its read with ContentVerificationError, the entry named.
 */
export class ZipMedium extends IndexedArchiveMedium<StreamZip.ZipEntry> {
  private constructor(private readonly zip: StreamZip.StreamZipAsync, index: ArchiveIndex<StreamZip.ZipEntry>, archivePath: string) {
    super(`zip archive ${archivePath}`, index);
  }

  static async open(archivePath: string): Promise<ZipMedium> {
    const description = `zip archive ${archivePath}`;
    const archiveSize = (await stat(archivePath)).size;
    const declared = await declaredEntryCount(archivePath, archiveSize);
    if (declared !== undefined && declared > MAX_ARCHIVE_ENTRIES) throw tooManyEntries(description, declared);
    const zip = new StreamZip.async({ file: archivePath, skipEntryNameValidation: true });
    try {
      const entries = await zip.entries().catch((error: unknown) => {
        throw new InvalidMetadataError(`${description}: ${(error as Error).message}`, { cause: error });
      });
      if (Object.keys(entries).length !== (await zip.entriesCount)) throw new UnsafePathError(`${description}: some entry names appear more than once`);
      const index = new ArchiveIndex<StreamZip.ZipEntry>(description);
      for (const entry of Object.values(entries)) addEntry(index, entry, archiveSize, description);
      return new ZipMedium(zip, index, archivePath);
    } catch (error) {
      await zip.close().catch(() => {});
      throw error;
    }
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const file = this.index.file(path, maxBytes);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(file.path)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async open(path: string): Promise<Readable> {
    const file = this.index.file(path);
    if (file.size === 0) return Readable.from([]);
    const what = `${this.description}: '${file.path}'`;
    const source = (await this.zip.stream(file.location).catch((error: unknown) => {
      throw asDamage(error, what);
    })) as Readable;
    const limited = new DeclaredSizeLimit(file.size, what);
    source.on('error', (error) => limited.destroy(asDamage(error, what)));
    return source.pipe(limited);
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

/**
 * node-stream-zip's and zlib's complaints about an entry (a local header that disagrees with the central directory,
 * a CRC-32 mismatch, a broken deflate stream) say its bytes in the archive are damaged; errors of the system (a read
 * that failed) and our own pass as they are.
 */
function asDamage(error: unknown, what: string): Error {
  if (error instanceof FioupError || (error as NodeJS.ErrnoException).syscall !== undefined) return error as Error;
  return new ContentVerificationError(`${what} is damaged in the archive (${(error as Error).message}): write the bundle again`, { cause: error });
}

/**
 * The entry count the end-of-central-directory record declares (its zip64 twin's when the record defers to it),
 * read from the end of the archive before the central directory is; undefined when there is no such record (the
 * zip reader then refuses the archive).
 */
async function declaredEntryCount(archivePath: string, archiveSize: number): Promise<number | undefined> {
  const handle = await open(archivePath, 'r');
  try {
    const tailSize = Math.min(archiveSize, ZIP_RECORD_SIZES.endOfCentralDirectory + MAX_COMMENT_SIZE);
    const tail = Buffer.alloc(tailSize);
    await handle.read(tail, 0, tailSize, archiveSize - tailSize);
    const signature = Buffer.alloc(4);
    signature.writeUInt32LE(ZIP_SIGNATURES.endOfCentralDirectory);
    const end = tail.lastIndexOf(signature);
    if (end < 0 || end + ZIP_RECORD_SIZES.endOfCentralDirectory > tailSize) return undefined;
    const count = tail.readUInt16LE(end + 10);
    if (count !== 0xffff) return count;
    const locator = end - ZIP_RECORD_SIZES.zip64Locator;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP_SIGNATURES.zip64Locator) return count;
    const record = Buffer.alloc(40);
    const { bytesRead } = await handle.read(record, 0, record.length, Number(tail.readBigUInt64LE(locator + 8)));
    if (bytesRead !== record.length || record.readUInt32LE(0) !== ZIP_SIGNATURES.zip64EndOfCentralDirectory) return undefined;
    return Number(record.readBigUInt64LE(32));
  } finally {
    await handle.close();
  }
}

function addEntry(index: ArchiveIndex<StreamZip.ZipEntry>, entry: StreamZip.ZipEntry, archiveSize: number, description: string): void {
  const where = `${description}: entry '${entry.name}'`;
  const unixType = entry.verMade >> 8 === UNIX_HOST ? (entry.attr >>> 16) & FILE_TYPE_MASK : 0;
  if (unixType !== 0 && unixType !== REGULAR_FILE && unixType !== DIRECTORY) {
    throw new UnsafePathError(`${where} is ${unixType === 0o120000 ? 'a symbolic link' : 'not a regular file or directory'}`);
  }
  if (entry.isDirectory || unixType === DIRECTORY) {
    index.addDirectory(entry.name);
    return;
  }
  if (entry.encrypted) throw new UnsafePathError(`${where} is encrypted`);
  if (entry.method !== ZIP_METHODS.stored && entry.method !== ZIP_METHODS.deflated) throw new UnsafePathError(`${where} uses unsupported compression method ${entry.method}`);
  if (entry.method === ZIP_METHODS.stored && entry.compressedSize !== entry.size) throw new UnsafePathError(`${where} is stored with two different sizes`);
  if (entry.offset + ZIP_RECORD_SIZES.localHeader + entry.compressedSize > archiveSize) {
    throw new UnsafePathError(`${where} claims ${entry.compressedSize} bytes, past the end of the ${archiveSize}-byte archive`);
  }
  index.addFile(entry.name, { size: entry.size, location: entry });
}

/** Passes bytes through and fails as soon as more than the declared size arrives. */
class DeclaredSizeLimit extends Transform {
  private seen = 0;

  constructor(private readonly declared: number, private readonly what: string) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.declared) {
      callback(new ContentVerificationError(`${this.what} inflates past its declared ${this.declared} bytes`));
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.seen === this.declared ? null : new ContentVerificationError(`${this.what} holds ${this.seen} bytes, ${this.declared} declared`));
  }
}
