import type { BlobDescriptor, BlobToFind } from './descriptor.js';
import type { VerifyingStream } from './verify.js';

/**
 * Where the blobs of an app chain come from, as composeapp's BlobProvider lets one tree walk read a registry, a
 * store or a directory. Whatever the source, nothing unverified comes out of it: a stream checks digest and size
 * as bytes flow, whole reads are checked before they return.
 * A blob that the chain points at but the source lacks is a ContentVerificationError.
 */
export interface BlobSource {
  /**
   * The blob's bytes as they come. The stream's clean end is the verdict: it errors (ContentVerificationError)
   * on overflow, short read or digest mismatch, so consumers treat what they received as unverified until then.
   */
  open(blob: BlobDescriptor): Promise<VerifyingStream>;
  /** A small blob (JSON) read whole: its descriptor's size must be within `maxBytes`. */
  read(blob: BlobDescriptor, maxBytes: number): Promise<Buffer>;
  /** A small blob known by digest only: its size is taken from the source, capped at `maxBytes`. */
  find(blob: BlobToFind, maxBytes: number): Promise<{ bytes: Buffer; size: number }>;
}
