import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidMetadataError, UnsafePathError } from '../errors.js';
import { ArchiveIndex, IndexedArchiveMedium } from './archive-index.js';

const BLOCK = 512;
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

interface PendingAttributes {
  path?: string;
  size?: number;
}

async function readIndex(handle: FileHandle, description: string): Promise<ArchiveIndex<number>> {
  const archiveSize = (await handle.stat()).size;
  const index = new ArchiveIndex<number>(description);
  let pending: PendingAttributes = {};
  let offset = 0;
  while (offset + BLOCK <= archiveSize) {
    const header = await readExactly(handle, offset, BLOCK, description);
    if (header.every((byte) => byte === 0)) return index;
    const where = `${description}: entry at byte ${offset}`;
    checkHeader(header, where);
    const type = String.fromCharCode(header[156]!);
    const consumesPending = !['x', 'g', 'L'].includes(type);
    const name = (consumesPending ? pending.path : undefined) ?? headerName(header);
    const size = (consumesPending ? pending.size : undefined) ?? numericField(header, 124, 12, where);
    const dataOffset = offset + BLOCK;
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
        pending = { ...pending, ...parsePax(await readRecord(), where) };
        break;
      case 'g':
        if (Object.keys(parsePax(await readRecord(), where)).length > 0) {
          throw new UnsafePathError(`${where}: a global PAX header must not set paths or sizes`);
        }
        break;
      case 'L':
        pending = { ...pending, path: (await readRecord()).toString('utf8').replace(/\0+$/, '') };
        break;
      default:
        throw new UnsafePathError(`${where} ('${name}') is ${describeType(type)}; only regular files and directories are allowed`);
    }
    if (consumesPending) pending = {};
    offset = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (offset !== archiveSize) throw new InvalidMetadataError(`${description}: truncated header at byte ${offset}`);
  return index;
}

function checkHeader(header: Buffer, where: string): void {
  if (header.toString('latin1', 257, 262) !== 'ustar') throw new InvalidMetadataError(`${where} is not a ustar header`);
  const recorded = numericField(header, 148, 8, where);
  let sum = 0;
  for (let index = 0; index < BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : header[index]!;
  if (sum !== recorded) throw new InvalidMetadataError(`${where} has a bad header checksum`);
}

function headerName(header: Buffer): string {
  const name = cString(header, 0, 100);
  const isPosixUstar = header.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isPosixUstar ? cString(header, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

function cString(buffer: Buffer, start: number, length: number): string {
  const field = buffer.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** An octal field, or GNU's base-256 form (first byte with the high bit set) for values over 8 GiB. */
function numericField(header: Buffer, start: number, length: number, where: string): number {
  const field = header.subarray(start, start + length);
  let value: bigint;
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw new InvalidMetadataError(`${where} has a negative numeric field`);
    value = BigInt(field[0]! & 0x7f);
    for (let index = 1; index < length; index++) value = (value << 8n) | BigInt(field[index]!);
  } else {
    const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
    if (!/^[0-7]*$/.test(text)) throw new InvalidMetadataError(`${where} has a malformed numeric field`);
    value = text === '' ? 0n : BigInt(`0o${text}`);
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsafePathError(`${where} has an implausible size`);
  return Number(value);
}

/** PAX records: `<length> <key>=<value>\n`. Only `path` and `size` matter; sparse-file keys refuse the entry. */
function parsePax(data: Buffer, where: string): PendingAttributes {
  const attributes: PendingAttributes = {};
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const length = Number(data.toString('latin1', position, space));
    if (space === -1 || !Number.isSafeInteger(length) || length <= 0 || position + length > data.length || data[position + length - 1] !== 0x0a) {
      throw new InvalidMetadataError(`${where} has a malformed PAX record`);
    }
    const record = data.toString('utf8', space + 1, position + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new InvalidMetadataError(`${where} has a malformed PAX record`);
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key.startsWith('GNU.sparse')) throw new UnsafePathError(`${where} is a sparse file`);
    if (key === 'path') attributes.path = value;
    if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new UnsafePathError(`${where} has an implausible PAX size '${value}'`);
      attributes.size = Number(value);
    }
    position += length;
  }
  return attributes;
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
