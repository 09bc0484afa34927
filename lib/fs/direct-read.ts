import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK = 4 << 20;
const WASM_PAGE = 64 << 10;

// @types/node does not declare WebAssembly; this is the part of it used here.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/**
 * Reads files from the drive that holds them rather than from the page cache (O_DIRECT), so that bytes that never
 * reached the drive, or changed on it since they were written, cannot be vouched for by the pages of the write.
 *
 * O_DIRECT wants the memory it reads into aligned to the device's logical block size. Node's Buffers come from
 * malloc and are not (reads into them fail with EINVAL); WebAssembly memory is page-aligned, so the reads land in
 * two views of one: while one chunk is handed on, the next one is being read. One reader reads one file at a time.
 * A file system that refuses O_DIRECT (EINVAL at open) is read through the page cache, and `read` says so.
 */
export class DirectFileReader {
  private readonly buffers: [Buffer, Buffer];

  constructor() {
    const memory = new WebAssembly.Memory({ initial: (2 * CHUNK) / WASM_PAGE });
    this.buffers = [Buffer.from(memory.buffer, 0, CHUNK), Buffer.from(memory.buffer, CHUNK, CHUNK)];
  }

  /**
   * Hands `onChunk` the file's bytes in order; a chunk is only valid during the call (its memory is read into next).
   * Returns the bytes read and whether they came from the drive (false: through the page cache).
   */
  async read(path: string, onChunk: (chunk: Buffer) => void): Promise<{ size: number; direct: boolean }> {
    const { handle, direct } = await openForReading(path);
    try {
      const size = (await handle.stat()).size;
      let position = 0;
      let current = 0;
      let pending = size > 0 ? handle.read(this.buffers[0], 0, CHUNK, 0) : undefined;
      while (pending) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) break;
        position += bytesRead;
        // A short read before the end would leave the next offset unaligned: only the last chunk may be short.
        if (position < size && bytesRead !== CHUNK) throw new Error(`${path}: short read of ${bytesRead} bytes at ${position - bytesRead}`);
        const filled = this.buffers[current]!.subarray(0, bytesRead);
        pending = position < size ? handle.read(this.buffers[1 - current]!, 0, CHUNK, position) : undefined;
        onChunk(filled);
        current = 1 - current;
      }
      return { size: position, direct };
    } finally {
      await handle.close();
    }
  }
}

async function openForReading(path: string): Promise<{ handle: FileHandle; direct: boolean }> {
  try {
    return { handle: await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECT), direct: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    return { handle: await open(path, constants.O_RDONLY | constants.O_NOFOLLOW), direct: false };
  }
}
