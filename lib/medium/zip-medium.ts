import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import StreamZip from 'node-stream-zip';
import { ContentVerificationError, InvalidMetadataError, UnsafePathError } from '../errors.js';
import { ArchiveIndex, IndexedArchiveMedium } from './archive-index.js';

const UNIX_HOST = 3;
const FILE_TYPE_MASK = 0o170000;
const REGULAR_FILE = 0o100000;
const DIRECTORY = 0o040000;
const LOCAL_HEADER_SIZE = 30;
const STORED = 0;
const DEFLATED = 8;

/**
 * A medium that is a zip archive (stored or deflated entries, zip64), read in place through its central
 * directory. Refused as a whole when opened (UnsafePathError): unsafe names (`..`, absolute, backslashes),
 * duplicate names, entries whose Unix mode is a link or a device, encrypted entries, unknown compression
 * methods, entries whose data would lie past the end of the file. A deflated entry is never inflated past
 * the size its header declares (zip bombs stop there, with ContentVerificationError).
 */
export class ZipMedium extends IndexedArchiveMedium<StreamZip.ZipEntry> {
  private constructor(private readonly zip: StreamZip.StreamZipAsync, index: ArchiveIndex<StreamZip.ZipEntry>, archivePath: string) {
    super(`zip archive ${archivePath}`, index);
  }

  static async open(archivePath: string): Promise<ZipMedium> {
    const description = `zip archive ${archivePath}`;
    const zip = new StreamZip.async({ file: archivePath, skipEntryNameValidation: true });
    try {
      const archiveSize = (await stat(archivePath)).size;
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
    const source = (await this.zip.stream(file.location)) as Readable;
    const limited = new DeclaredSizeLimit(file.size, `${this.description}: '${file.path}'`);
    source.on('error', (error) => limited.destroy(error));
    return source.pipe(limited);
  }

  async close(): Promise<void> {
    await this.zip.close();
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
  if (entry.method !== STORED && entry.method !== DEFLATED) throw new UnsafePathError(`${where} uses unsupported compression method ${entry.method}`);
  if (entry.method === STORED && entry.compressedSize !== entry.size) throw new UnsafePathError(`${where} is stored with two different sizes`);
  if (entry.offset + LOCAL_HEADER_SIZE + entry.compressedSize > archiveSize) {
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
