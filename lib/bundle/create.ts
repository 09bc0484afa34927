import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { buildInfo } from '../build-info.js';
import { ContentVerificationError, UsageError } from '../errors.js';
import { DirectoryMedium } from '../medium/directory-medium.js';
import { appBlobName } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { TarMedium } from '../medium/tar-medium.js';
import { ZipMedium } from '../medium/zip-medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { DirectoryBundleWriter } from './dir-writer.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION, MANIFEST_PATH, serializeManifest, type BundleFile, type BundleManifest } from './manifest.js';
import { preflight, type BundleFormat } from './preflight.js';
import { loadSource, type BundleSelection, type BundleSource } from './source.js';
import { TarBundleWriter } from './tar-writer.js';
import { checkAgainstManifest, requireNoProblems } from './verify.js';
import type { BundleWriter } from './writer.js';
import { ZipBundleWriter } from './zip-writer.js';

/**
 * A check of the downloads before anything is written (TUF chain, app hash chains...). The seam where lib/tuf
 * and lib/apps plug in: `createBundle` runs the given checks in order and stops at the first that throws.
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

/**
 * `bundle create`: load and merge the downloads, run the checks, preflight the destination, write every
 * file (hashing it on the way) and bundle.json last, make it durable, then read everything back through the
 * reader a device would use and compare it with the manifest.
 */
export async function createBundle(options: CreateBundleOptions): Promise<CreateBundleResult> {
  const onProgress = options.onProgress ?? ignoreProgress;
  const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    onProgress({ type: 'step', step: name, state: 'start' });
    const result = await work();
    onProgress({ type: 'step', step: name, state: 'done' });
    return result;
  };
  const source = await step('read downloads', () => loadSource(options.sources, options.selection));
  for (const note of source.notes) onProgress({ type: 'info', message: note });
  for (const check of options.checks ?? []) await step(check.name, () => check.run(source));
  await step('check destination', () => preflight(options.destination, options.format, source.files, options.force ?? false));

  const createdAt = options.createdAt ?? defaultCreationTime();
  const writer = await openWriter(options, createdAt, source);
  const total = source.files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  const files: BundleFile[] = [];
  let skipped = 0;
  let manifest: BundleManifest;
  try {
    for (const file of source.files) {
      const written = await writer.write({ path: file.path, size: file.size, open: async () => createReadStream(file.localPath, { highWaterMark: 1 << 20 }) }, (bytes) => {
        done += bytes;
        onProgress({ type: 'bytes', label: file.path, done, total });
      });
      if (written.skipped) skipped++;
      requireContentAddress(file.path, written.digest.sha256);
      files.push({ path: file.path, size: written.digest.size, sha256: written.digest.sha256 });
    }
    manifest = {
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_FORMAT_VERSION,
      tool: { name: 'fioup-offline', ...buildInfo() },
      createdAt: createdAt.toISOString(),
      metadataExpires: source.metadataExpires.toISOString(),
      targets: source.targets,
      files,
    };
    const bytes = serializeManifest(manifest);
    await writer.write({ path: MANIFEST_PATH, size: bytes.length, open: async () => Readable.from([bytes]) }, () => {});
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await step('read back and verify', async () => {
    const medium = await openWritten(options.format, options.destination);
    try {
      requireNoProblems(medium.description, await checkAgainstManifest(medium, manifest));
    } finally {
      await medium.close();
    }
  });
  return { manifest, written: files.length - skipped, skipped, notes: source.notes };
}

/** A blob's name is its sha256: the copy just hashed it, so a corrupt download is caught here, file named. */
function requireContentAddress(path: string, sha256: string): void {
  const name = appBlobName(path);
  if (name !== undefined && name !== sha256) {
    throw new ContentVerificationError(`${path} has sha256 ${sha256}: the download is corrupt (fetch it again with fioctl)`);
  }
}

async function openWriter(options: CreateBundleOptions, createdAt: Date, source: BundleSource): Promise<BundleWriter> {
  switch (options.format) {
    case 'dir':
      return DirectoryBundleWriter.create(options.destination, [...source.files.map((file) => file.path), MANIFEST_PATH]);
    case 'tar':
      return TarBundleWriter.create(options.destination, createdAt);
    case 'zip':
      return ZipBundleWriter.create(options.destination, createdAt, { zip64: options.zip64 ?? 'auto' });
    default:
      throw new UsageError(`unknown bundle format '${String(options.format)}' (dir, tar or zip)`);
  }
}

async function openWritten(format: BundleFormat, destination: string): Promise<Medium> {
  if (format === 'tar') return TarMedium.open(destination);
  if (format === 'zip') return ZipMedium.open(destination);
  return new DirectoryMedium(destination);
}

/** SOURCE_DATE_EPOCH (seconds) when set, for reproducible bundles; otherwise the current time. */
export function defaultCreationTime(environment: NodeJS.ProcessEnv = process.env): Date {
  const epoch = environment.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date();
  if (!/^\d+$/.test(epoch)) throw new UsageError(`SOURCE_DATE_EPOCH must be a number of seconds, not '${epoch}'`);
  return new Date(Number(epoch) * 1000);
}
