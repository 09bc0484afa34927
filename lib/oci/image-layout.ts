import { hexOfDigest } from './digest.js';

/**
 * Where an OCI image layout keeps a blob: `blobs/sha256/<hex>`. The medium's app store (`apps/`) is a blob store
 * of the same shape, and so is the tar that `docker load` receives.
 */
export function ociBlobPath(digest: string): string {
  return `blobs/sha256/${hexOfDigest(digest)}`;
}
