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

/**
 * Refuses an update that would fill a filesystem above `[pacman] storage_watermark` percent. Needs on the same
 * filesystem add up. Runs before anything is written.
 */
export async function requireFreeSpace(needs: readonly SpaceNeed[], watermarkPercent: number): Promise<void> {
  const byFilesystem = new Map<number, { path: string; bytes: number; what: string[] }>();
  for (const need of needs) {
    const existing = await existingAncestor(need.path);
    const { dev } = await stat(existing);
    const entry = byFilesystem.get(dev) ?? { path: existing, bytes: 0, what: [] };
    entry.bytes += need.bytes;
    entry.what.push(`${formatBytes(need.bytes)} for ${need.what}`);
    byFilesystem.set(dev, entry);
  }
  for (const { path, bytes, what } of byFilesystem.values()) {
    const fs = await statfs(path);
    const total = fs.blocks * fs.bsize;
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const allowed = Math.floor((total * watermarkPercent) / 100) - used;
    if (bytes > allowed) {
      throw new InsufficientSpaceError(
        `not enough free space on the filesystem of ${path}: the update needs ${formatBytes(bytes)} (${what.join(', ')}), ` +
          `and only ${formatBytes(Math.max(0, allowed))} may be used under the ${watermarkPercent}% storage watermark ` +
          `(${formatBytes(fs.bavail * fs.bsize)} free of ${formatBytes(total)})`,
      );
    }
  }
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
