import { ContentVerificationError } from '../errors.js';

/**
 * Content digests as the app chain uses them: `sha256:` and 64 lowercase hex characters, nothing else, so that a
 * digest is always safe to use as a file name.
 */

const ALGORITHM = 'sha256:';
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value);
}

export function requireDigest(value: unknown, where: string): string {
  if (!isDigest(value)) throw new ContentVerificationError(`${where}: digest ${JSON.stringify(value)} is not sha256:<64 lowercase hex>`);
  return value;
}

/** The digest whose hex part is `hex` (a sha256 just computed, or the hex of an app URI). */
export function digestOfHex(hex: string): string {
  return `${ALGORITHM}${hex}`;
}

export function hexOfDigest(digest: string): string {
  return requireDigest(digest, 'blob').slice(ALGORITHM.length);
}
