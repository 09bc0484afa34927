import { ContentVerificationError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import { openMedium } from '../medium/open-medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { pumpHashing } from './hashing.js';
import { readManifest, type BundleManifest } from './manifest.js';

/** One file of a bundle that does not match its manifest line. */
export interface BundleProblem {
  readonly path: string;
  readonly problem: string;
}

/** Reads every file the manifest lists, through the medium, and returns every mismatch (empty: all good). */
export async function checkAgainstManifest(medium: Medium, manifest: BundleManifest, onProgress: ProgressListener = ignoreProgress): Promise<BundleProblem[]> {
  const problems: BundleProblem[] = [];
  const total = manifest.files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  for (const file of manifest.files) {
    const entry = await medium.stat(file.path).catch(() => undefined);
    if (entry?.type !== 'file') {
      problems.push({ path: file.path, problem: 'missing' });
      continue;
    }
    try {
      const digest = await pumpHashing(await medium.open(file.path), undefined, (bytes) => {
        done += bytes;
        onProgress({ type: 'bytes', label: file.path, done, total });
      });
      if (digest.size !== file.size) problems.push({ path: file.path, problem: `${digest.size} bytes, ${file.size} expected` });
      else if (digest.sha256 !== file.sha256) problems.push({ path: file.path, problem: `sha256 ${digest.sha256}, ${file.sha256} expected` });
    } catch (error) {
      problems.push({ path: file.path, problem: `unreadable: ${(error as Error).message}` });
    }
  }
  return problems;
}

/** Throws ContentVerificationError naming every bad file. */
export function requireNoProblems(description: string, problems: readonly BundleProblem[]): void {
  if (problems.length === 0) return;
  throw new ContentVerificationError(`${description}: ${problems.length} file(s) do not match bundle.json:\n${problems.map((item) => `  ${item.path}: ${item.problem}`).join('\n')}`);
}

/** `bundle verify`: a byte check of every file of a bundle (directory, tar or zip) against its bundle.json. */
export async function verifyBundle(path: string, onProgress: ProgressListener = ignoreProgress): Promise<BundleManifest> {
  const medium = await openMedium(path);
  try {
    const manifest = await readManifest(medium);
    requireNoProblems(medium.description, await checkAgainstManifest(medium, manifest, onProgress));
    return manifest;
  } finally {
    await medium.close();
  }
}
