import { UsageError } from '../lib/errors.js';
import type { Medium } from '../lib/medium/medium.js';
import type { Output } from './output.js';

/** An empty path (`--src-dir ''`, an unset variable) would name the current directory: refused. */
export function nonEmptyPath(option: string) {
  return (value: string) => {
    if (value.trim() === '') throw new UsageError(`--${option} is empty: name the medium (its mount point, a bundle directory, .tar or .zip)`);
    return value;
  };
}

/** The `--src-dir` option of the commands that read a medium. */
export const mediumOption = {
  alias: 's',
  type: 'string',
  description: 'The medium: a bundle directory, .tar or .zip (default: look on mounted removable drives)',
  coerce: nonEmptyPath('src-dir'),
} as const;

/** The medium named by --src-dir, or the one bundle found on a mounted removable drive (said aloud). */
async function resolveMedium(sourceDir: string | undefined, output: Output): Promise<Medium> {
  const { findMediaOnRemovableDrives, openMedium } = await import('../lib/medium/open-medium.js');
  if (sourceDir !== undefined) return openMedium(sourceDir);
  const found = await findMediaOnRemovableDrives();
  output.progress({ type: 'info', message: `using the update bundle found at ${found}` });
  return openMedium(found);
}

/** Runs `body` with the medium open, and closes it whatever happens. */
export async function withMedium<T>(sourceDir: string | undefined, output: Output, body: (medium: Medium) => Promise<T>): Promise<T> {
  const medium = await resolveMedium(sourceDir, output);
  try {
    return await body(medium);
  } finally {
    await medium.close();
  }
}
