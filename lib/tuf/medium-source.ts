import { FileTooLargeError, InvalidMetadataError, MetadataNotFoundError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import type { MetadataFile } from './trusted-store.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The most bytes read for each metadata file: enough for real repositories, and a bound on memory. */
export const metadataSizeLimits = {
  root: 512 * KiB,
  timestamp: 64 * KiB,
  snapshot: 4 * MiB,
  targets: 128 * MiB,
  bundleTargets: 128 * MiB,
} as const;

export const tufDirectory = 'tuf';

const rootFilePattern = /^([1-9][0-9]{0,8})\.root\.json$/;

/** The version of a root metadata file named `<N>.root.json`; undefined for any other name. */
export function rootFileVersion(name: string): number | undefined {
  const match = rootFilePattern.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Reads the TUF metadata files of a medium (`tuf/` in fioctl's layout), within the size limits. */
export class MediumMetadataSource {
  constructor(private readonly medium: Medium) {}

  /** `tuf/<version>.root.json`, or undefined when the medium has no such file (the end of the root chain). */
  async readRoot(version: number): Promise<MetadataFile | undefined> {
    return this.readOptional(`${version}.root.json`, metadataSizeLimits.root);
  }

  readTimestamp(): Promise<MetadataFile> {
    return this.readRequired('timestamp.json', metadataSizeLimits.timestamp);
  }

  readSnapshot(): Promise<MetadataFile> {
    return this.readRequired('snapshot.json', metadataSizeLimits.snapshot);
  }

  readTargets(): Promise<MetadataFile> {
    return this.readRequired('targets.json', metadataSizeLimits.targets);
  }

  readBundleTargets(): Promise<MetadataFile | undefined> {
    return this.readOptional('bundle-targets.json', metadataSizeLimits.bundleTargets);
  }

  private async readRequired(name: string, maxBytes: number): Promise<MetadataFile> {
    const file = await this.readOptional(name, maxBytes);
    if (!file) throw new MetadataNotFoundError(`${this.medium.description}: ${tufDirectory}/${name} not found`);
    return file;
  }

  private async readOptional(name: string, maxBytes: number): Promise<MetadataFile | undefined> {
    const path = `${tufDirectory}/${name}`;
    const fileName = `${this.medium.description}: ${path}`;
    if (!(await this.medium.stat(path))) return undefined;
    return { fileName, bytes: await this.medium.readFile(path, maxBytes).catch(oversizeAsInvalid) };
  }
}

/** Metadata over its size limit is invalid metadata (exit 15), whatever the medium. */
function oversizeAsInvalid(error: unknown): never {
  throw error instanceof FileTooLargeError ? new InvalidMetadataError(error.message, { cause: error }) : error;
}
