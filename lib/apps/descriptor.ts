import { ContentVerificationError, InvalidMetadataError } from '../errors.js';
import { parseStrictJson } from '../tuf/strict-json.js';

/**
 * Descriptors and JSON shapes of the app chain. Everything here comes from the medium: a descriptor is only as
 * trustworthy as the verified blob that holds it, and its fields are checked strictly before anything uses them.
 * Every failure is a ContentVerificationError naming where the bad value was found.
 */

/** A blob the chain points at: its digest, its exact size, and what it is, for messages ("layer 2 of image ..."). */
export interface BlobDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly what: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

export function requireDigest(value: unknown, where: string): string {
  if (!isDigest(value)) throw new ContentVerificationError(`${where}: digest ${JSON.stringify(value)} is not sha256:<64 lowercase hex>`);
  return value;
}

export function hexOfDigest(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function requireSize(value: unknown, maxBytes: number, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ContentVerificationError(`${where}: size ${JSON.stringify(value)} is not a non-negative integer`);
  }
  if (value > maxBytes) throw new ContentVerificationError(`${where}: claims ${value} bytes, more than the ${maxBytes} allowed`);
  return value;
}

export function requireObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ContentVerificationError(`${where}: not a JSON object`);
  return value as Record<string, unknown>;
}

export function requireArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ContentVerificationError(`${where}: not a JSON array`);
  return value;
}

export function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ContentVerificationError(`${where}: not a non-empty string`);
  return value;
}

export function requireStringMap(value: unknown, where: string): Record<string, string> {
  const object = requireObject(value, where);
  for (const [key, entry] of Object.entries(object)) requireString(entry, `${where} ${JSON.stringify(key)}`);
  return object as Record<string, string>;
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

/** JSON of a verified blob, refusing duplicate keys and invalid UTF-8 (two readers must see the same document). */
export function parseBlobJson(bytes: Uint8Array, what: string): unknown {
  try {
    return parseStrictJson(bytes, what);
  } catch (error) {
    if (error instanceof InvalidMetadataError) throw new ContentVerificationError(error.message, { cause: error });
    throw error;
  }
}
