import { stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InsufficientSpaceError } from '../errors.js';
import { formatBytes } from '../format.js';

/** Bytes an update will write under `path`, for the message: `what`. */
export interface SpaceNeed {
  readonly path: string;
  readonly bytes: number;
  readonly what: string;
}

/** What the update writes on one filesystem, against what it may write there. */
export interface FilesystemSpace {
  /** The nearest existing directory of the first need on it. */
  readonly path: string;
  readonly bytes: number;
  /** `12.0 MiB for container images`, per need. */
  readonly what: readonly string[];
  /** Bytes the update may use without filling the filesystem above the watermark (0 when it is above already). */
  readonly allowed: number;
  readonly free: number;
  readonly total: number;
  readonly fits: boolean;
}

/** What the update needs on each filesystem (needs on the same one add up) against `[pacman] storage_watermark`. */
export async function assessFreeSpace(needs: readonly SpaceNeed[], watermarkPercent: number): Promise<FilesystemSpace[]> {
  const byFilesystem = new Map<number, { path: string; bytes: number; what: string[] }>();
  for (const need of needs) {
    const existing = await existingAncestor(need.path);
    const { dev } = await stat(existing);
    const entry = byFilesystem.get(dev) ?? { path: existing, bytes: 0, what: [] };
    entry.bytes += need.bytes;
    entry.what.push(`${formatBytes(need.bytes)} for ${need.what}`);
    byFilesystem.set(dev, entry);
  }
  const assessed: FilesystemSpace[] = [];
  for (const { path, bytes, what } of byFilesystem.values()) {
    const fs = await statfs(path);
    const total = fs.blocks * fs.bsize;
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const allowed = Math.max(0, Math.floor((total * watermarkPercent) / 100) - used);
    assessed.push({ path, bytes, what, allowed, free: fs.bavail * fs.bsize, total, fits: bytes <= allowed });
  }
  return assessed;
}

/** Refuses an update that would fill a filesystem above `[pacman] storage_watermark` percent. Runs before anything is written. */
export async function requireFreeSpace(needs: readonly SpaceNeed[], watermarkPercent: number): Promise<void> {
  const full = (await assessFreeSpace(needs, watermarkPercent)).find((space) => !space.fits);
  if (full) throw insufficientSpace(full, watermarkPercent);
}

export function insufficientSpace(space: FilesystemSpace, watermarkPercent: number): InsufficientSpaceError {
  return new InsufficientSpaceError(
    `not enough free space on the filesystem of ${space.path}: the update needs ${formatBytes(space.bytes)} (${space.what.join(', ')}), ` +
      `and only ${formatBytes(space.allowed)} may be used under the ${watermarkPercent}% storage watermark ` +
      `(${formatBytes(space.free)} free of ${formatBytes(space.total)})`,
  );
}

async function existingAncestor(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    try {
      await stat(current);
      return current;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw error;
    }
  }
}
