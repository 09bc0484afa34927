import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidMetadataError, UnsafePathError } from '../errors.js';
import { decodeLongName, decodeTarHeader, parsePaxRecords, TAR_BLOCK, tarPadding, type PaxAttributes, type TarErrors } from '../archive/tar-format.js';
import { ArchiveIndex, IndexedArchiveMedium } from './archive-index.js';

/** PAX and GNU long-name records are metadata: anything larger is not a real archive. */
const MAX_METADATA_RECORD = 1 << 20;

/**
 * A medium that is a plain (uncompressed) tar archive, read in place. Opening it reads the headers only,
 * seeking over the data, and builds an index; files are then served as ranged reads of the archive.
 * A compressed tar is not supported: it cannot be read at random, and a USB stick has room for the plain one.
 *
 * Formats: ustar, with PAX extended headers (`path`, `size`) and GNU long names (`L`). Hostile archives are
 * refused as a whole when opened (UnsafePathError), never partly served: unsafe names, symbolic and hard links,
 * device and FIFO entries, sparse files (GNU `S` or PAX `GNU.sparse.*`), duplicate names, global PAX headers
 * that change names or sizes, and entries whose data would run past the end of the file.
 */
export class TarMedium extends IndexedArchiveMedium<number> {
  private constructor(private readonly handle: FileHandle, index: ArchiveIndex<number>, archivePath: string) {
    super(`tar archive ${archivePath}`, index);
  }

  static async open(archivePath: string): Promise<TarMedium> {
    const handle = await open(archivePath, 'r');
    try {
      const index = await readIndex(handle, `tar archive ${archivePath}`);
      return new TarMedium(handle, index, archivePath);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const file = this.index.file(path, maxBytes);
    return readExactly(this.handle, file.location, file.size, `${this.description}: '${file.path}'`);
  }

  async open(path: string): Promise<Readable> {
    const file = this.index.file(path);
    if (file.size === 0) return Readable.from([]);
    // Positional reads on the shared descriptor: many files may be open at once, the medium closes it.
    return createReadStream('', { fd: this.handle.fd, autoClose: false, start: file.location, end: file.location + file.size - 1, highWaterMark: 1 << 20 });
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

const errors: TarErrors = {
  malformed: (message) => new InvalidMetadataError(message),
  unsafe: (message) => new UnsafePathError(message),
};

async function readIndex(handle: FileHandle, description: string): Promise<ArchiveIndex<number>> {
  const archiveSize = (await handle.stat()).size;
  const index = new ArchiveIndex<number>(description);
  let pending: PaxAttributes = {};
  let offset = 0;
  while (offset + TAR_BLOCK <= archiveSize) {
    const header = await readExactly(handle, offset, TAR_BLOCK, description);
    if (header.every((byte) => byte === 0)) return index;
    const where = `${description}: entry at byte ${offset}`;
    if (header.toString('latin1', 257, 262) !== 'ustar') throw new InvalidMetadataError(`${where} is not a ustar header`);
    const decoded = decodeTarHeader(header, where, errors);
    const type = decoded.type;
    const consumesPending = !['x', 'g', 'L'].includes(type);
    const name = (consumesPending ? pending.path : undefined) ?? decoded.name;
    const size = (consumesPending ? pending.size : undefined) ?? decoded.size;
    const dataOffset = offset + TAR_BLOCK;
    if (dataOffset + size > archiveSize) {
      throw new UnsafePathError(`${where} ('${name}') claims ${size} bytes, past the end of the ${archiveSize}-byte archive`);
    }
    const readRecord = () => {
      if (size > MAX_METADATA_RECORD) throw new UnsafePathError(`${where}: a ${size}-byte '${type}' header record is not plausible`);
      return readExactly(handle, dataOffset, size, description);
    };
    switch (type) {
      case '0':
      case '\0':
      case '7':
        index.addFile(name, { size, location: dataOffset });
        break;
      case '5':
        index.addDirectory(name);
        break;
      case 'x':
        pending = { ...pending, ...parsePaxRecords(await readRecord(), where, errors) };
        break;
      case 'g':
        if (Object.keys(parsePaxRecords(await readRecord(), where, errors)).length > 0) {
          throw new UnsafePathError(`${where}: a global PAX header must not set paths or sizes`);
        }
        break;
      case 'L':
        pending = { ...pending, path: decodeLongName(await readRecord()) };
        break;
      default:
        throw new UnsafePathError(`${where} ('${name}') is ${describeType(type)}; only regular files and directories are allowed`);
    }
    if (consumesPending) pending = {};
    offset = dataOffset + size + tarPadding(size).length;
  }
  if (offset !== archiveSize) throw new InvalidMetadataError(`${description}: truncated header at byte ${offset}`);
  return index;
}

function describeType(type: string): string {
  const names: Record<string, string> = {
    '1': 'a hard link',
    '2': 'a symbolic link',
    '3': 'a character device',
    '4': 'a block device',
    '6': 'a FIFO',
    'S': 'a sparse file',
    'K': 'a long link name',
  };
  return names[type] ?? `of unsupported type '${type}'`;
}

async function readExactly(handle: FileHandle, position: number, length: number, description: string): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw new InvalidMetadataError(`${description}: unexpected end of file`);
    done += bytesRead;
  }
  return buffer;
}
