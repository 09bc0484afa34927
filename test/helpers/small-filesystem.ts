import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A small ext4 filesystem in a loop-mounted image file under `dir` (needs root), for running out of space;
 * `inodes` gives it that many inodes (mkfs rounds up to a whole group's worth), to run out of them.
 */
export interface SmallFilesystem {
  readonly mountPoint: string;
  unmount(): void;
}

export async function mountSmallFilesystem(dir: string, name: string, size: string, options: { inodes?: number } = {}): Promise<SmallFilesystem> {
  const image = join(dir, `${name}.img`);
  const mountPoint = join(dir, name);
  await mkdir(mountPoint, { recursive: true });
  execFileSync('truncate', ['-s', size, image]);
  execFileSync('mkfs.ext4', ['-q', '-F', ...(options.inodes ? ['-N', String(options.inodes)] : []), image]);
  execFileSync('mount', ['-o', 'loop', image, mountPoint]);
  return { mountPoint, unmount: () => execFileSync('umount', [mountPoint]) };
}
