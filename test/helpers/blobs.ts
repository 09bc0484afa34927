import type { BlobSource } from '../../lib/oci/blob-source.js';
import type { BlobDescriptor } from '../../lib/oci/descriptor.js';

/** Streams a blob from its source to the end, as the image loader does, and returns how many bytes came. */
export async function verifyBlob(blobs: BlobSource, blob: BlobDescriptor): Promise<number> {
  let bytes = 0;
  for await (const chunk of await blobs.open(blob)) bytes += (chunk as Buffer).length;
  return bytes;
}
