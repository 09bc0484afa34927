import { ContentVerificationError } from '../errors.js';
import { APP_STORE_DIRECTORY, appBlobName } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { openMedium } from '../medium/open-medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { describeContent } from './content.js';
import { pumpHashing } from './hashing.js';
import { checkDownloadMetadata } from './host-checks.js';
import { hasManifest, readManifest, type BundleFile, type BundleTarget } from './manifest.js';
import { offeredTargets } from './offered-targets.js';
import { bundleProgress } from './read-back.js';

/** One file of a bundle that does not match its manifest line. */
export interface BundleProblem {
  readonly path: string;
  readonly problem: string;
}

const VERIFY_LABEL = 'verify';

/** Reads every file the manifest lists, through the medium, and returns every mismatch (empty: all good). */
export async function checkAgainstManifest(medium: Medium, manifest: { readonly files: readonly BundleFile[] }, onProgress: ProgressListener = ignoreProgress): Promise<BundleProblem[]> {
  const problems: BundleProblem[] = [];
  const progress = bundleProgress(VERIFY_LABEL, manifest.files.reduce((sum, file) => sum + file.size, 0), manifest.files.length, onProgress);
  for (const file of manifest.files) {
    const entry = await medium.stat(file.path).catch(() => undefined);
    if (entry?.type !== 'file') {
      problems.push({ path: file.path, problem: 'missing' });
      progress.file();
      continue;
    }
    try {
      const digest = await pumpHashing(await medium.open(file.path), undefined, progress.bytes);
      if (digest.size !== file.size) problems.push({ path: file.path, problem: `${digest.size} bytes, ${file.size} expected` });
      else if (digest.sha256 !== file.sha256) problems.push({ path: file.path, problem: `sha256 ${digest.sha256}, ${file.sha256} expected` });
    } catch (error) {
      problems.push({ path: file.path, problem: `unreadable: ${(error as Error).message}` });
    }
    progress.file();
  }
  return problems;
}

/** Throws ContentVerificationError naming every bad file. */
export function requireNoProblems(description: string, problems: readonly BundleProblem[]): void {
  if (problems.length === 0) return;
  throw new ContentVerificationError(`${description}: ${problems.length} file(s) do not match:\n${problems.map((item) => `  ${item.path}: ${item.problem}`).join('\n')}`);
}

export interface VerifyOptions {
  readonly onProgress?: ProgressListener;
  /** Things worth telling that do not fail the verification (no roots on a raw download, say). */
  readonly onWarning?: (message: string) => void;
  readonly now?: Date;
}

export interface VerifyReport {
  readonly medium: string;
  /** A bundle `bundle create` wrote (checked against its bundle.json), or a raw fioctl download. */
  readonly kind: 'bundle' | 'download';
  /** Files hashed: every file of a bundle; the content-addressed blobs of a download. */
  readonly files: number;
  /** What a device can install of each target (a raw download only: a bundle's are in its bundle.json). */
  readonly targets: readonly BundleTarget[] | undefined;
}

/**
 * `bundle verify`. A bundle (it has bundle.json): every file byte for byte against its line. A raw fioctl download:
 * what bundle-create checks before writing, without writing anything: the TUF metadata, every app's hash chain for
 * every platform it holds, and every blob against the sha256 it is named by.
 */
export async function verifyBundle(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const onProgress = options.onProgress ?? ignoreProgress;
  const medium = await openMedium(path);
  try {
    if (await hasManifest(medium)) {
      const manifest = await readManifest(medium);
      requireNoProblems(`${medium.description} against its bundle.json`, await checkAgainstManifest(medium, manifest, onProgress));
      return { medium: medium.description, kind: 'bundle', files: manifest.files.length, targets: undefined };
    }
    const metadata = await checkDownloadMetadata(medium, options.now ?? new Date(), options.onWarning ?? (() => {}));
    const content = await describeContent(medium, offeredTargets(metadata.targets, metadata.bundleTargets));
    const blobs = await contentAddressedBlobs(medium);
    requireNoProblems(`${medium.description}: blobs not named by their sha256`, await checkAgainstManifest(medium, { files: blobs }, onProgress));
    return { medium: medium.description, kind: 'download', files: blobs.length, targets: content.targets };
  } finally {
    await medium.close();
  }
}

/** The app store's blobs, each expected to hash to its name. */
async function contentAddressedBlobs(medium: Medium): Promise<BundleFile[]> {
  const directory = `${APP_STORE_DIRECTORY}/blobs/sha256`;
  const files: BundleFile[] = [];
  for (const name of await medium.list(directory)) {
    const path = `${directory}/${name}`;
    const entry = await medium.stat(path);
    if (entry?.type === 'file') files.push({ path, size: entry.size, sha256: appBlobName(path)! });
  }
  return files;
}
