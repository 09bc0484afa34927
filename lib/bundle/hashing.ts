import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';

export interface StreamDigest {
  readonly size: number;
  readonly sha256: string;
  readonly crc32: number;
}

/**
 * Reads a stream once, hashing it (sha256, and crc32 for zip) and handing every chunk to `sink` before the next
 * one is read, so a file is copied and hashed in the same pass and never sits whole in memory.
 */
export async function pumpHashing(
  source: Readable,
  sink: (chunk: Buffer) => Promise<void> = async () => {},
  onBytes: (bytes: number) => void = () => {},
): Promise<StreamDigest> {
  const sha256 = createHash('sha256');
  let checksum = 0;
  let size = 0;
  for await (const chunk of source) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    sha256.update(bytes);
    checksum = crc32(bytes, checksum);
    size += bytes.length;
    await sink(bytes);
    onBytes(bytes.length);
  }
  return { size, sha256: sha256.digest('hex'), crc32: checksum };
}
