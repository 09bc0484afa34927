import { readFileSync, statSync, statfsSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes } from '../format.js';
import { mountContaining, parseMountTable } from './mounts.js';

/** What a filesystem holds and has left, in bytes and inodes, as statfs(2) tells it. */
export interface FilesystemUsage {
  /** The deepest existing directory of the path asked about, and the mount point of its filesystem. */
  readonly path: string;
  readonly mountPoint: string;
  /** The filesystem's id (`st_dev`): paths on one filesystem share it. */
  readonly device: number;
  readonly bytesTotal: number;
  readonly bytesUsed: number;
  /** What an unprivileged writer may still use (root may use the reserved blocks beyond it). */
  readonly bytesAvailable: number;
  /** 0 on filesystems without an inode table (btrfs, some network filesystems): they never run out of inodes. */
  readonly inodesTotal: number;
  readonly inodesUsed: number;
  readonly inodesFree: number;
}

/** `path`, or its deepest ancestor that exists when it does not exist yet (yet to be created). */
export function nearestExistingPath(path: string): string {
  return nearestExisting(path).path;
}

function nearestExisting(path: string): { path: string; stats: Stats } {
  for (let current = path; ; current = dirname(current)) {
    try {
      return { path: current, stats: statSync(current) };
    } catch (error) {
      if (!['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '') || dirname(current) === current) throw error;
    }
  }
}

/** The usage of the filesystem that holds `path` (or would hold it, once created). */
export function filesystemUsage(path: string): FilesystemUsage {
  const existing = nearestExisting(path);
  const fs = statfsSync(existing.path);
  return {
    path: existing.path,
    // Looked up in the mount table only when a message names it: the load guard asks for the usage every few MiB.
    get mountPoint() {
      return mountPointOf(existing.path);
    },
    device: existing.stats.dev,
    bytesTotal: fs.blocks * fs.bsize,
    bytesUsed: (fs.blocks - fs.bfree) * fs.bsize,
    bytesAvailable: fs.bavail * fs.bsize,
    inodesTotal: fs.files,
    inodesUsed: fs.files - fs.ffree,
    inodesFree: fs.ffree,
  };
}

/** "the filesystem mounted at /data has 12.0 MiB of 16.0 MiB free and 1024 of 4096 inodes free". */
export function describeUsage(usage: FilesystemUsage): string {
  const inodes = usage.inodesTotal > 0 ? ` and ${usage.inodesFree} of ${usage.inodesTotal} inodes free` : '';
  return `the filesystem mounted at ${usage.mountPoint} has ${formatBytes(usage.bytesAvailable)} of ${formatBytes(usage.bytesTotal)} free${inodes}`;
}

/** The longest mount point that contains `path`; `/` when the mount table cannot be read. */
function mountPointOf(path: string): string {
  let table: string;
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '/';
  }
  return mountContaining(path, parseMountTable(table)) ?? '/';
}
