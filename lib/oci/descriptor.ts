import { ContentVerificationError } from '../errors.js';
import { requireDigest } from './digest.js';
import { requireObject, requireString, requireStringMap } from './json.js';

/**
 * A blob the chain points at: its digest, its exact size, and what it is, for messages ("layer 2 of image ...").
 * Every byte read for it is checked against that digest and size.
 */
export interface BlobDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly what: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A blob to find by digest alone (the app manifest, an image pinned in a compose file): its size is not known yet. */
export interface BlobToFind {
  readonly digest: string;
  readonly what: string;
}

/** The blob as messages name it: what it is, and its digest. */
export function describeBlob(blob: BlobToFind): string {
  return `${blob.what} (blob ${blob.digest})`;
}

export function requireSize(value: unknown, maxBytes: number, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ContentVerificationError(`${where}: size ${JSON.stringify(value)} is not a non-negative integer`);
  }
  if (value > maxBytes) throw new ContentVerificationError(`${where}: claims ${value} bytes, more than the ${maxBytes} allowed`);
  return value;
}

/** Parses an OCI descriptor object (`mediaType`, `digest`, `size`, optional `annotations`). */
export function parseDescriptor(value: unknown, maxBytes: number, what: string): BlobDescriptor {
  const object = requireObject(value, what);
  const mediaType = requireString(object.mediaType, `${what} mediaType`);
  const digest = requireDigest(object.digest, what);
  const size = requireSize(object.size, maxBytes, what);
  const annotations = object.annotations === undefined ? undefined : requireStringMap(object.annotations, `${what} annotations`);
  return annotations ? { mediaType, digest, size, what, annotations } : { mediaType, digest, size, what };
}
