import { ZIP_SIGNATURES } from '../archive/zip-format.js';
import type { ProgressListener } from '../progress.js';
import { pumpHashing } from './hashing.js';
import type { ReadBack } from './read-back.js';
import { ArchiveFile, requireListedSize, type BundleEntrySource, type BundleWriter, type WrittenEntry } from './writer.js';

const ZIP64_EXTRA = 0x0001;
const UTF8_NAMES = 0x0800;
const MADE_BY_UNIX = 3 << 8;
const VERSION_PLAIN = 20;
const VERSION_ZIP64 = 45;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const REGULAR_FILE_MODE = 0o100644;

export interface ZipWriterOptions {
  /** 'always' writes zip64 fields for every entry (to exercise readers); 'auto' only where sizes or offsets need them. */
  zip64?: 'auto' | 'always';
}

interface CentralEntry {
  name: Buffer;
  size: number;
  crc32: number;
  offset: number;
  zip64Local: boolean;
}

/**
 * Writes a zip archive of stored (uncompressed) entries: names in UTF-8, Unix mode 0644, every timestamp the
 * bundle's creation time, zip64 records when a size, offset or count does not fit. Sizes are known before
 * each entry; the CRC is computed while copying and the local header, whose room was kept, written after the
 * data, so the archive needs no data descriptors. Same entries and time, same bytes.
 */
export class ZipBundleWriter implements BundleWriter {
  private readonly entries: CentralEntry[] = [];

  private constructor(private readonly file: ArchiveFile, private readonly dosTime: { time: number; date: number }, private readonly forceZip64: boolean) {}

  static async create(destination: string, createdAt: Date, options: ZipWriterOptions = {}): Promise<ZipBundleWriter> {
    return new ZipBundleWriter(await ArchiveFile.create(destination), dosDateTime(createdAt), options.zip64 === 'always');
  }

  async write(entry: BundleEntrySource, onBytes: (bytes: number) => void): Promise<WrittenEntry> {
    const name = Buffer.from(entry.path, 'utf8');
    const zip64Local = this.forceZip64 || entry.size >= U32_MAX;
    this.file.beginRange(entry.path);
    const offset = this.file.reserve(this.localHeader(name, entry.size, zip64Local, 0).length);
    const digest = await pumpHashing(await entry.open(), (chunk) => this.file.append(chunk), onBytes);
    requireListedSize(entry, digest);
    await this.file.fill(this.localHeader(name, entry.size, zip64Local, digest.crc32), offset);
    this.entries.push({ name, size: entry.size, crc32: digest.crc32, offset, zip64Local });
    return { digest, skipped: false };
  }

  readBack(onProgress: ProgressListener): Promise<ReadBack> {
    return this.file.readBack(onProgress);
  }

  async finish(): Promise<void> {
    this.file.beginRange('the central directory');
    const directoryOffset = this.file.position;
    for (const entry of this.entries) await this.file.append(this.centralHeader(entry));
    const directorySize = this.file.position - directoryOffset;
    const count = this.entries.length;
    if (this.forceZip64 || count >= U16_MAX || directoryOffset >= U32_MAX || directorySize >= U32_MAX) {
      const recordOffset = this.file.position;
      const record = Buffer.alloc(56);
      record.writeUInt32LE(ZIP_SIGNATURES.zip64EndOfCentralDirectory, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(MADE_BY_UNIX | VERSION_ZIP64, 12);
      record.writeUInt16LE(VERSION_ZIP64, 14);
      record.writeBigUInt64LE(BigInt(count), 24);
      record.writeBigUInt64LE(BigInt(count), 32);
      record.writeBigUInt64LE(BigInt(directorySize), 40);
      record.writeBigUInt64LE(BigInt(directoryOffset), 48);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(ZIP_SIGNATURES.zip64Locator, 0);
      locator.writeBigUInt64LE(BigInt(recordOffset), 8);
      locator.writeUInt32LE(1, 16);
      await this.file.append(Buffer.concat([record, locator]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(ZIP_SIGNATURES.endOfCentralDirectory, 0);
    end.writeUInt16LE(Math.min(count, U16_MAX), 8);
    end.writeUInt16LE(Math.min(count, U16_MAX), 10);
    end.writeUInt32LE(Math.min(directorySize, U32_MAX), 12);
    end.writeUInt32LE(this.forceZip64 ? U32_MAX : Math.min(directoryOffset, U32_MAX), 16);
    await this.file.append(end);
    await this.file.commit();
  }

  async complete(): Promise<void> {}

  async abort(): Promise<void> {
    await this.file.abort();
  }

  private localHeader(name: Buffer, size: number, zip64: boolean, crc32: number): Buffer {
    const extra = zip64 ? zip64Extra([size, size]) : Buffer.alloc(0);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(ZIP_SIGNATURES.localHeader, 0);
    header.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_PLAIN, 4);
    header.writeUInt16LE(UTF8_NAMES, 6);
    header.writeUInt16LE(this.dosTime.time, 10);
    header.writeUInt16LE(this.dosTime.date, 12);
    header.writeUInt32LE(crc32, 14);
    header.writeUInt32LE(zip64 ? U32_MAX : size, 18);
    header.writeUInt32LE(zip64 ? U32_MAX : size, 22);
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(extra.length, 28);
    return Buffer.concat([header, name, extra]);
  }

  private centralHeader(entry: CentralEntry): Buffer {
    const sizesInExtra = entry.zip64Local;
    const offsetInExtra = this.forceZip64 || entry.offset >= U32_MAX;
    const extraFields = [...(sizesInExtra ? [entry.size, entry.size] : []), ...(offsetInExtra ? [entry.offset] : [])];
    const extra = extraFields.length > 0 ? zip64Extra(extraFields) : Buffer.alloc(0);
    const version = extra.length > 0 ? VERSION_ZIP64 : VERSION_PLAIN;
    const header = Buffer.alloc(46);
    header.writeUInt32LE(ZIP_SIGNATURES.centralHeader, 0);
    header.writeUInt16LE(MADE_BY_UNIX | version, 4);
    header.writeUInt16LE(version, 6);
    header.writeUInt16LE(UTF8_NAMES, 8);
    header.writeUInt16LE(this.dosTime.time, 12);
    header.writeUInt16LE(this.dosTime.date, 14);
    header.writeUInt32LE(entry.crc32, 16);
    header.writeUInt32LE(sizesInExtra ? U32_MAX : entry.size, 20);
    header.writeUInt32LE(sizesInExtra ? U32_MAX : entry.size, 24);
    header.writeUInt16LE(entry.name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    header.writeUInt32LE((REGULAR_FILE_MODE << 16) >>> 0, 38);
    header.writeUInt32LE(offsetInExtra ? U32_MAX : entry.offset, 42);
    return Buffer.concat([header, entry.name, extra]);
  }
}

function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(ZIP64_EXTRA, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, index) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * index));
  return extra;
}

/** MS-DOS date and time (UTC, two-second steps); zip cannot say anything before 1980. */
function dosDateTime(date: Date): { time: number; date: number } {
  if (date.getUTCFullYear() < 1980) return { time: 0, date: (1 << 5) | 1 };
  return {
    time: (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | Math.floor(date.getUTCSeconds() / 2),
    date: ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate(),
  };
}
