import { PassThrough, type Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import { readTar } from '../apps/tar-reader.js';
import type { BlobDescriptor } from '../oci/descriptor.js';

/** What a layer extracts to: the bytes of its uncompressed tar, and its entries (each a file, directory or link). */
export interface Expansion {
  readonly bytes: number;
  /** Undefined when the tar could not be walked (Docker then says what is wrong with it). */
  readonly entries: number | undefined;
}

/**
 * Guards the filesystem Docker extracts layers to. Docker reads a whole `docker load` tar before it extracts
 * anything from it, so a load broken off before the end of the tar leaves nothing: the guard is asked while the
 * image's layers stream past, measured on the way, and once more before the tar ends.
 */
export interface ExpansionGuard {
  /** Throws (an InsufficientSpaceError) when the layers of `what` cannot expand to `expansion` (so far). */
  check(what: string, expansion: Expansion): void;
  /** Holds the room `expansion` takes until `release`: the loads under way count in each other's checks. */
  reserve(expansion: Expansion): { release(): void };
}

type Decompressor = () => Duplex;

/** zstd when this Node has it (22.15 and later); Node 20 does not, and zstd layers then go unmeasured. */
const zstd = (zlib as unknown as { createZstdDecompress?: Decompressor }).createZstdDecompress;

function decompressorFor(mediaType: string): Decompressor | undefined {
  if (/[+.]gzip$/.test(mediaType)) return () => zlib.createGunzip();
  if (/\+zstd$/.test(mediaType)) return zstd;
  if (/[.]tar$/.test(mediaType)) return () => new PassThrough();
  return undefined;
}

/**
 * Decompresses a layer as its bytes go by and walks the tar inside, counting, never keeping anything: what
 * `docker load` will extract, known before Docker starts extracting. Feeding waits for the count to keep up
 * (memory stays flat); a layer that cannot be decompressed or walked only stops being measured.
 */
export class LayerMeasure {
  private readonly stream: Duplex | undefined;
  private bytes = 0;
  private entries: number | undefined = 0;
  private broken = false;
  private readonly counted: Promise<void>;

  constructor(layer: BlobDescriptor) {
    this.stream = decompressorFor(layer.mediaType)?.();
    this.counted = this.stream ? this.count(this.stream, layer.what) : Promise.resolve();
    this.stream?.on('error', () => (this.broken = true));
  }

  /** Bytes the layer expanded to so far. */
  get expandedBytes(): number {
    return this.bytes;
  }

  async write(chunk: Buffer): Promise<void> {
    const stream = this.stream;
    if (!stream || this.broken || stream.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done).off('error', done).off('close', done);
        resolve();
      };
      stream.on('drain', done).on('error', done).on('close', done);
    });
  }

  /** What the layer expanded to, once all of it went by; undefined when it could not be measured. */
  async end(): Promise<Expansion | undefined> {
    if (!this.stream) return undefined;
    if (!this.broken) this.stream.end();
    await this.counted;
    return this.broken ? undefined : { bytes: this.bytes, entries: this.entries };
  }

  /** Stops measuring (the load broke off). */
  destroy(): void {
    this.broken = true;
    this.stream?.destroy();
  }

  private async count(stream: Duplex, what: string): Promise<void> {
    const counting = this.countBytes(stream);
    try {
      for await (const _entry of readTar(counting, what)) if (this.entries !== undefined) this.entries++;
    } catch {
      this.entries = undefined;
      try {
        for await (const _chunk of counting);
      } catch {
        this.broken = true;
      }
    }
  }

  private async *countBytes(stream: Duplex): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) {
        this.bytes += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    } catch {
      this.broken = true;
    }
  }
}
