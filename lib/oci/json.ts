import { ContentVerificationError, InvalidMetadataError } from '../errors.js';
import { parseStrictJson } from '../tuf/strict-json.js';

/**
 * The JSON of verified blobs and the checks of its shape. A blob is only as trustworthy as the digest that
 * pointed at it: its fields are checked strictly before anything uses them, and every failure is a
 * ContentVerificationError naming where the bad value was found.
 */

/** JSON of a verified blob, refusing duplicate keys and invalid UTF-8 (two readers must see the same document). */
export function parseBlobJson(bytes: Uint8Array, what: string): unknown {
  try {
    return parseStrictJson(bytes, what);
  } catch (error) {
    if (error instanceof InvalidMetadataError) throw new ContentVerificationError(error.message, { cause: error });
    throw error;
  }
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
