import { FileTooLargeError, InvalidMetadataError, MetadataMismatchError, MetadataNotFoundError } from '../errors.js';
import { rootFileName, rootFileVersion, TUF_DIRECTORY, TUF_FILES, tufPath } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import type { MetadataFile, NamedLength } from './trusted-store.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The most bytes read for each metadata file: enough for real repositories, and a bound on memory. bundle-targets.json
 * lists target names only (fioctl's ouBundleMeta).
 */
export const metadataSizeLimits = {
  root: 512 * KiB,
  timestamp: 64 * KiB,
  snapshot: 4 * MiB,
  targets: 128 * MiB,
  bundleTargets: 4 * MiB,
} as const;

/**
 * Reads the TUF metadata files of a medium (`tuf/` in fioctl's layout), within the size limits, and, for snapshot.json
 * and targets.json, the length the trusted role before them gives: a file of any other length is refused before a
 * byte of it is read.
 */
export class MediumMetadataSource {
  constructor(private readonly medium: Medium) {}

  /** `tuf/<version>.root.json`, or undefined when the medium has no such file (the end of the root chain). */
  async readRoot(version: number): Promise<MetadataFile | undefined> {
    return this.readOptional(rootFileName(version), metadataSizeLimits.root);
  }

  /** The lowest-numbered root of the medium: where a reader with no trusted root of its own (the host) starts the chain. */
  async readOldestRoot(): Promise<MetadataFile | undefined> {
    const versions = (await this.medium.list(TUF_DIRECTORY)).flatMap((name) => rootFileVersion(name) ?? []);
    return versions.length > 0 ? this.readRoot(Math.min(...versions)) : undefined;
  }

  readTimestamp(): Promise<MetadataFile> {
    return this.readRequired(TUF_FILES.timestamp, metadataSizeLimits.timestamp);
  }

  readSnapshot(named?: NamedLength): Promise<MetadataFile> {
    return this.readRequired(TUF_FILES.snapshot, metadataSizeLimits.snapshot, named);
  }

  readTargets(named?: NamedLength): Promise<MetadataFile> {
    return this.readRequired(TUF_FILES.targets, metadataSizeLimits.targets, named);
  }

  readBundleTargets(): Promise<MetadataFile | undefined> {
    return this.readOptional(TUF_FILES.bundleTargets, metadataSizeLimits.bundleTargets);
  }

  private async readRequired(name: string, maxBytes: number, named?: NamedLength): Promise<MetadataFile> {
    const file = await this.readOptional(name, maxBytes, named);
    if (!file) throw new MetadataNotFoundError(`${this.medium.description}: ${tufPath(name)} not found`);
    return file;
  }

  private async readOptional(name: string, maxBytes: number, named?: NamedLength): Promise<MetadataFile | undefined> {
    const path = tufPath(name);
    const fileName = `${this.medium.description}: ${path}`;
    const entry = await this.medium.stat(path);
    if (!entry) return undefined;
    if (named && entry.type === 'file' && entry.size !== named.length) throw new MetadataMismatchError(`${fileName}: is ${entry.size} bytes, but ${named.by} says ${named.length}`);
    return { fileName, bytes: await this.medium.readFile(path, Math.min(maxBytes, named?.length ?? maxBytes)).catch(oversizeAsInvalid) };
  }
}

/** Metadata over its size limit is invalid metadata (exit 15), whatever the medium. */
function oversizeAsInvalid(error: unknown): never {
  throw error instanceof FileTooLargeError ? new InvalidMetadataError(error.message, { cause: error }) : error;
}
