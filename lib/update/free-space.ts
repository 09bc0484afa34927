import type { Expansion, ExpansionGuard } from '../docker/layer-expansion.js';
import { InsufficientSpaceError } from '../errors.js';
import { describeUsage, filesystemUsage, type FilesystemUsage } from '../fs/filesystem-usage.js';
import { formatBytes } from '../format.js';

/** Bytes and inodes an update will write under `path`, for the message: `what`. */
export interface SpaceNeed {
  readonly path: string;
  readonly bytes: number;
  /** Files and directories it creates. */
  readonly inodes: number;
  readonly what: string;
}

/** What `[pacman] storage_watermark` leaves an update on a filesystem: bytes and inodes up to that percentage. */
interface Allowance {
  readonly bytes: number;
  /** Infinity on filesystems without an inode table. */
  readonly inodes: number;
}

function allowanceOf(usage: FilesystemUsage, watermarkPercent: number): Allowance {
  const share = (total: number, used: number) => Math.floor((total * watermarkPercent) / 100) - used;
  return {
    bytes: share(usage.bytesTotal, usage.bytesUsed),
    inodes: usage.inodesTotal > 0 ? share(usage.inodesTotal, usage.inodesUsed) : Infinity,
  };
}

/** What the update writes on one filesystem, against what it may write there. */
export interface FilesystemSpace {
  readonly usage: FilesystemUsage;
  /** The nearest existing directory of the first need on it. */
  readonly path: string;
  readonly bytes: number;
  readonly inodes: number;
  /** `12.0 MiB and 40 inodes for compose projects`, per need. */
  readonly what: readonly string[];
  /** Bytes the update may use without filling the filesystem above the watermark (0 when it is above already). */
  readonly allowed: number;
  readonly allowedInodes: number;
  readonly fits: boolean;
}

/** What the update needs on each filesystem (needs on the same one add up), in bytes and inodes, against `[pacman] storage_watermark`. */
export function assessFreeSpace(needs: readonly SpaceNeed[], watermarkPercent: number): FilesystemSpace[] {
  const byFilesystem = new Map<number, { usage: FilesystemUsage; bytes: number; inodes: number; what: string[] }>();
  for (const need of needs) {
    const usage = filesystemUsage(need.path);
    const entry = byFilesystem.get(usage.device) ?? { usage, bytes: 0, inodes: 0, what: [] };
    entry.bytes += need.bytes;
    entry.inodes += need.inodes;
    // Docker's inodes are counted by the loads as the layers stream (0 here): no inode figure is better than a false one.
    entry.what.push(`${formatBytes(need.bytes)}${need.inodes > 0 ? ` and ${need.inodes} inodes` : ''} for ${need.what}`);
    byFilesystem.set(usage.device, entry);
  }
  return [...byFilesystem.values()].map(({ usage, bytes, inodes, what }) => {
    const allowed = allowanceOf(usage, watermarkPercent);
    return {
      usage, path: usage.path, bytes, inodes, what,
      allowed: Math.max(0, allowed.bytes), allowedInodes: Math.max(0, allowed.inodes),
      fits: bytes <= allowed.bytes && inodes <= allowed.inodes,
    };
  });
}

/**
 * Refuses an update that would fill a filesystem, in bytes or in inodes, above `[pacman] storage_watermark`
 * percent. Runs before anything is written.
 */
export function requireFreeSpace(needs: readonly SpaceNeed[], watermarkPercent: number): void {
  const full = assessFreeSpace(needs, watermarkPercent).find((space) => !space.fits);
  if (full) throw insufficientSpace(full, watermarkPercent);
}

export function insufficientSpace(space: FilesystemSpace, watermarkPercent: number): InsufficientSpaceError {
  const short = space.bytes > space.allowed ? `only ${formatBytes(space.allowed)} may be used` : `only ${space.allowedInodes} inodes may be used`;
  return new InsufficientSpaceError(
    `not enough free space on the filesystem of ${space.path}: the update needs ${formatBytes(space.bytes)} and ${space.inodes} inodes ` +
      `(${space.what.join(', ')}), and ${short} under the ${watermarkPercent}% storage watermark (${describeUsage(space.usage)}); ` +
      'free space there, or raise [pacman] storage_watermark',
  );
}

/** Disk an entry (a file, a directory) takes beyond its bytes: one filesystem block at most (files round up to one). */
export const BLOCK_BYTES = 4096;

/**
 * The guard of the filesystem Docker extracts layers to (`DockerRootDir`), while images load: each image's layers,
 * measured as they stream, must fit in what the watermark leaves now, less what the loads under way reserved. It
 * stops a layer that expands to more than its app announced (or than the space check estimated) before Docker
 * has the whole tar, hence before Docker extracted any of it.
 */
export function watermarkGuard(path: string, watermarkPercent: number): ExpansionGuard {
  const reserved = { bytes: 0, inodes: 0 };
  const needOf = (expansion: Expansion) => ({ bytes: expansion.bytes + (expansion.entries ?? 0) * BLOCK_BYTES, inodes: expansion.entries ?? 0 });
  return {
    check(what, expansion) {
      const usage = filesystemUsage(path);
      const allowed = allowanceOf(usage, watermarkPercent);
      const need = needOf(expansion);
      const room = { bytes: allowed.bytes - reserved.bytes, inodes: allowed.inodes - reserved.inodes };
      if (need.bytes <= room.bytes && need.inodes <= room.inodes) return;
      const sofar = expansion.entries === undefined ? 'at least ' : '';
      const short = need.bytes > room.bytes ? `only ${formatBytes(Math.max(0, room.bytes))} may be used` : `only ${Math.max(0, room.inodes)} inodes may be used`;
      throw new InsufficientSpaceError(
        `loading ${what}: its layers expand to ${sofar}${formatBytes(need.bytes)}${expansion.entries === undefined ? '' : ` and ${need.inodes} inodes`}, ` +
          `and ${short} on the filesystem of ${path} under the ${watermarkPercent}% storage watermark (${describeUsage(usage)}): ` +
          'the load was stopped before Docker extracted it; free space there, or raise [pacman] storage_watermark',
      );
    },
    reserve(expansion) {
      const need = needOf(expansion);
      reserved.bytes += need.bytes;
      reserved.inodes += need.inodes;
      let held = true;
      return {
        release: () => {
          if (!held) return;
          held = false;
          reserved.bytes -= need.bytes;
          reserved.inodes -= need.inodes;
        },
      };
    },
  };
}
