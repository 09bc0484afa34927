import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ContentVerificationError } from '../errors.js';
import { describeBlob, type BlobDescriptor } from './descriptor.js';
import { digestOfHex } from './digest.js';

/**
 * Passes a blob's bytes through while hashing and counting them. Fails as soon as more bytes than the descriptor
 * gives arrive (so a stream that never ends is cut short), and at the end on a short read or a digest mismatch:
 * a clean end means exactly `size` bytes with the descriptor's digest went through.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private received = 0;

  constructor(private readonly blob: BlobDescriptor) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.blob.size) {
      done(new ContentVerificationError(`${describeBlob(this.blob)}: more than the ${this.blob.size} bytes its descriptor gives`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.received < this.blob.size) {
      done(new ContentVerificationError(`${describeBlob(this.blob)}: ${this.received} bytes, ${this.blob.size} expected`));
      return;
    }
    done(digestMismatch(this.blob, digestOfHex(this.hash.digest('hex'))));
  }
}

/** The bytes of a blob read whole, once they are checked against its descriptor's size and digest. */
export function verifyBytes(blob: BlobDescriptor, bytes: Buffer): Buffer {
  if (bytes.length !== blob.size) throw new ContentVerificationError(`${describeBlob(blob)}: ${bytes.length} bytes read, ${blob.size} expected`);
  const mismatch = digestMismatch(blob, digestOfHex(createHash('sha256').update(bytes).digest('hex')));
  if (mismatch) throw mismatch;
  return bytes;
}

function digestMismatch(blob: BlobDescriptor, actual: string): ContentVerificationError | undefined {
  return actual === blob.digest ? undefined : new ContentVerificationError(`${describeBlob(blob)}: content has digest ${actual}, not the expected one`);
}
