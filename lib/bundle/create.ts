import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buildInfo } from '../build-info.js';
import { ContentMissingError, ContentVerificationError, UsageError } from '../errors.js';
import { APP_STORE_DIRECTORY, appBlobName, isInside, OSTREE_REPO_DIRECTORY } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { TarMedium } from '../medium/tar-medium.js';
import { ZipMedium } from '../medium/zip-medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { withStreamingHeap } from '../streaming-heap.js';
import { describeContent, type MediumContent } from './content.js';
import type { DirectoryDestination } from './destination.js';
import { DirectoryBundleWriter } from './dir-writer.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, MANIFEST_PATH, serializeManifest, type BundleFile, type BundleManifest, type BundleTarget } from './manifest.js';
import { preflight, requireOutsideSources, type BundleFormat } from './preflight.js';
import { bundleProgress } from './read-back.js';
import { keepReachedApps, loadSource, type BundleSelection, type BundleSource, type SourceFile } from './source.js';
import { SourceMedium } from './source-medium.js';
import { TarBundleWriter } from './tar-writer.js';
import { checkAgainstManifest, requireNoProblems, type BundleProblem } from './verify.js';
import type { BundleWriter } from './writer.js';
import { ZipBundleWriter } from './zip-writer.js';

/**
 * A check of the downloads before anything is written (the TUF metadata). The seam where lib/tuf plugs in:
 * `createBundle` runs the given checks in order and stops at the first that throws.
 */
export interface SourceCheck {
  readonly name: string;
  run(source: BundleSource): Promise<void>;
}

export interface CreateBundleOptions {
  /** fioctl offline-update directories; several are merged. */
  readonly sources: readonly string[];
  /** A directory for 'dir', the archive file for 'tar' and 'zip'. */
  readonly destination: string;
  readonly format: BundleFormat;
  readonly selection?: BundleSelection;
  /** Replace a finished bundle at the destination. */
  readonly force?: boolean;
  /** Default: SOURCE_DATE_EPOCH when set, else now. Archive bytes depend only on the sources and this time. */
  readonly createdAt?: Date;
  readonly checks?: readonly SourceCheck[];
  /** Steps, notes, and whole-bundle `bytes` events (labels `write` and `read back`, with file counts). */
  readonly onProgress?: ProgressListener;
  /** Test hook for the zip writer: zip64 records on every entry. */
  readonly zip64?: 'auto' | 'always';
}

export interface CreateBundleResult {
  readonly manifest: BundleManifest;
  /** Files of the layout written (bundle.json aside). */
  readonly written: number;
  /** Files a resumed `dir` write found complete. */
  readonly skipped: number;
  readonly notes: readonly string[];
}

export const WRITE_LABEL = 'write';

/**
 * `bundle create`: load and merge the downloads, run the checks, walk every app's hash chain for what each target
 * can install (refusing only a download no device could use), preflight the destination, write every file (hashing
 * it on the way) and bundle.json last, make it durable, then read everything back from the drive, past the page
 * cache, and through the reader a device would use.
 */
export async function createBundle(options: CreateBundleOptions): Promise<CreateBundleResult> {
  const onProgress = options.onProgress ?? ignoreProgress;
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    onProgress({ type: 'step', step: name, state: 'start' });
    const result = await work();
    onProgress({ type: 'step', step: name, state: 'done' });
    return result;
  };
  await requireOutsideSources(options.destination, options.sources);
  const source = await step('read downloads', () => loadSource(options.sources, options.selection));
  for (const check of options.checks ?? []) await step(check.name, () => check.run(source));
  const content = await step('check apps', () => describeContent(new SourceMedium(source), source.targets));
  const notes = [...source.notes, ...contentNotes(source, content)];
  let files: readonly SourceFile[] = source.files;
  if (source.narrowed) {
    const kept = keepReachedApps(source, content);
    files = kept.files;
    notes.push(kept.note);
  }
  for (const note of notes) onProgress({ type: 'info', message: note });
  const destination = await step('check destination', () => preflight(options.destination, options.format, files, options.force ?? false));

  // Writing and reading back stream every byte through 1 MiB buffers.
  return withStreamingHeap(async () => {
    const createdAt = options.createdAt ?? defaultCreationTime();
    const writer = await openWriter(options, createdAt, files, destination);
    const progress = bundleProgress(WRITE_LABEL, files.reduce((sum, file) => sum + file.size, 0), files.length, onProgress);
    const written: BundleFile[] = [];
    let skipped = 0;
    let manifest: BundleManifest;
    try {
      for (const file of files) {
        const result = await writer.write({ path: file.path, size: file.size, open: async () => createReadStream(file.localPath, { highWaterMark: 1 << 20 }) }, progress.bytes);
        if (result.skipped) skipped++;
        requireContentAddress(file.path, result.digest.sha256);
        written.push({ path: file.path, size: result.digest.size, sha256: result.digest.sha256 });
        progress.file();
      }
      manifest = {
        format: MANIFEST_FORMAT,
        formatVersion: MANIFEST_FORMAT_VERSION,
        tool: { name: 'fioup-offline', ...buildInfo() },
        createdAt: createdAt.toISOString(),
        metadataExpires: source.metadataExpires.toISOString(),
        targets: content.targets,
        files: written,
      };
      const bytes = serializeManifest(manifest);
      await writer.write({ path: MANIFEST_PATH, size: bytes.length, open: async () => Readable.from([bytes]) }, () => {});
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    await step('read back and verify', async () => {
      const readBack = await writer.readBack(onProgress);
      if (!readBack.direct) notes.push(`${options.destination}: its file system refuses direct reads, so the read-back went through the page cache`);
      const problems = [...readBack.problems];
      if (problems.length === 0 && options.format !== 'dir') problems.push(...(await throughDeviceReader(options.format, options.destination, manifest)));
      if (problems.length > 0) {
        await discardUnsound(options, problems);
        requireNoProblems(`read back from ${options.destination} (removed, run again: if it fails again, the drive is failing)`, problems);
      }
      await writer.complete();
    });
    return { manifest, written: written.length - skipped, skipped, notes };
  });
}

/** An archive read through the reader a device would use, every file checked against bundle.json. */
async function throughDeviceReader(format: 'tar' | 'zip', destination: string, manifest: BundleManifest): Promise<BundleProblem[]> {
  const medium: Medium = format === 'tar' ? await TarMedium.open(destination) : await ZipMedium.open(destination);
  try {
    return await checkAgainstManifest(medium, manifest);
  } finally {
    await medium.close();
  }
}

/** What failed the read-back goes: the archive, or a directory bundle's bad files and its bundle.json (a run again rewrites them). */
async function discardUnsound(options: CreateBundleOptions, problems: readonly BundleProblem[]): Promise<void> {
  if (options.format !== 'dir') {
    await rm(options.destination, { force: true });
    return;
  }
  for (const path of [MANIFEST_PATH, ...problems.map((problem) => problem.path)]) await rm(join(options.destination, path), { force: true });
}

/**
 * What each target lacks, and the refusal of a download no device could use: one whose targets can install
 * nothing although it carries content. A download of metadata alone (`fioctl ... --tuf-only`) is written: devices
 * can verify it and take its metadata, though there is nothing in it to install.
 */
function contentNotes(source: BundleSource, content: MediumContent): string[] {
  const has = (directory: string) => source.files.some((file) => isInside(file.path, directory));
  const lacking = content.targets.flatMap((target) => {
    const what = lackOf(target, has(OSTREE_REPO_DIRECTORY));
    return what === undefined ? [] : [`${target.name}: a device can install ${target.installs} from this bundle (${what})`];
  });
  if (content.targets.some((target) => target.installs !== 'nothing')) return lacking;
  if (has(APP_STORE_DIRECTORY) || has(OSTREE_REPO_DIRECTORY)) throw new ContentMissingError(`no device can install anything from download ${source.directories.join(' + ')}: ${lacking.join('; ')}`);
  return [...lacking, 'the download holds TUF metadata only: devices can verify it, and install nothing from it'];
}

/**
 * What the bundle lacks of a target, or undefined when it holds everything the target carries. A missing commit
 * only counts where it can matter: with an ostree_repo/ in the download, or nothing else to install (container-only
 * factories publish a hash that is no commit).
 */
function lackOf(target: BundleTarget, hasOstreeRepo: boolean): string | undefined {
  if (target.problem !== undefined) return target.problem;
  const lacks: string[] = [];
  const absent = target.apps.filter((app) => app.platforms.length === 0).map((app) => app.name);
  if (absent.length > 0) lacks.push(`no images of ${absent.join(', ')}`);
  else if (target.apps.length > 0 && target.platforms.length === 0) {
    lacks.push(`its apps share no platform: ${target.apps.map((app) => `${app.name} ${app.platforms.map((p) => p.platform).join(' ')}`).join(', ')}`);
  }
  if (!target.rootfs.present && (hasOstreeRepo || target.installs === 'nothing')) lacks.push(`no rootfs commit ${target.rootfs.commit ?? '(none)'} in ${OSTREE_REPO_DIRECTORY}/`);
  return lacks.length > 0 ? lacks.join('; ') : undefined;
}

/** A blob's name is its sha256: the copy just hashed it, so a corrupt download is caught here, file named. */
function requireContentAddress(path: string, sha256: string): void {
  const name = appBlobName(path);
  if (name !== undefined && name !== sha256) {
    throw new ContentVerificationError(`${path} has sha256 ${sha256}: the download is corrupt (fetch it again with fioctl)`);
  }
}

async function openWriter(options: CreateBundleOptions, createdAt: Date, files: readonly SourceFile[], destination: DirectoryDestination): Promise<BundleWriter> {
  switch (options.format) {
    case 'dir':
      return DirectoryBundleWriter.create(options.destination, [...files.map((file) => file.path), MANIFEST_PATH], destination.owned);
    case 'tar':
      return TarBundleWriter.create(options.destination, createdAt);
    case 'zip':
      return ZipBundleWriter.create(options.destination, createdAt, { zip64: options.zip64 ?? 'auto' });
    default:
      throw new UsageError(`unknown bundle format '${String(options.format)}' (dir, tar or zip)`);
  }
}

/** SOURCE_DATE_EPOCH (seconds) when set, for reproducible bundles; otherwise the current time. */
export function defaultCreationTime(environment: NodeJS.ProcessEnv = process.env): Date {
  const epoch = environment.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date();
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH must be a number of seconds, not '${epoch}'`);
  return new Date(Number(epoch) * 1000);
}
