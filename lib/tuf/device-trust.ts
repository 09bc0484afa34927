import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidMetadataError, MetadataNotFoundError } from '../errors.js';
import { readRegularFile } from '../fs/device-files.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { rootFileName, rootFileVersion, TUF_DIRECTORY, TUF_FILES } from '../medium/layout.js';
import { safePathComponent } from '../medium/safe-path.js';
import { metadataSizeLimits } from './medium-source.js';
import type { MetadataFile, PreviouslyTrusted } from './trusted-store.js';
import type { DeviceTrust, VerifiedMedium } from './verify-medium.js';

export interface DeviceTrustStoreOptions {
  /** Where the device image ships its initial roots: `<rootsDir>/<deviceType>/<N>.root.json`. */
  readonly rootsDir: string;
  /**
   * `ci` or `prod`; undefined when the device cannot tell (no certificate): then, as aktualizr-lite does, only roots 1
   * and 2 of `ci/` are taken from the image, the versions ci and prod devices share.
   */
  readonly deviceType: string | undefined;
  /** The device state dir (`[storage] path`); trusted metadata lives in `<storageDir>/tuf/`, named as on the medium. */
  readonly storageDir: string;
}

/** Root versions ci and prod devices of a factory share (liteclient.cc imports only these for a device of unknown type). */
const SHARED_ROOT_VERSIONS = 2;

/** Where the device keeps what it trusts: these files, or aktualizr-lite's sql.db (lib/aktualizr/db-trust.ts). */
export interface TrustStore {
  /** The root chain and the stored metadata, the floor for rollback checks. */
  load(): Promise<DeviceTrust>;
  /** Stores what became trusted in `verified`; roots first. */
  persist(verified: VerifiedMedium): Promise<void>;
  /** What `persist` will write, for the space check before it: bytes, and new files. */
  persistNeed(verified: VerifiedMedium): Promise<{ readonly bytes: number; readonly files: number }>;
}

/**
 * The initial roots the device image ships (`[storage] uptane_metadata_path`, `<ci|prod>/<N>.root.json`), by version:
 * for a device of unknown type those of `ci/` up to version 2 only, which ci and prod devices share.
 */
export async function listImageRoots(rootsDir: string, deviceType: string | undefined): Promise<Map<number, string>> {
  const newest = deviceType === undefined ? SHARED_ROOT_VERSIONS : Infinity;
  const found = await listRootFiles(join(rootsDir, safePathComponent(deviceType ?? 'ci', 'device type')));
  return new Map([...found].filter(([version]) => version <= newest));
}

/** A root file of the device, bounded as a root on the medium is. */
export function readRootFile(path: string): Promise<MetadataFile> {
  return readLocalFile(path, metadataSizeLimits.root);
}

/**
 * The metadata this device trusts: the initial roots of its image plus what earlier updates accepted. Writes are
 * atomic and roots go first, so a power cut leaves every trusted file either old or new, never half written.
 */
export class DeviceTrustStore implements TrustStore {
  private readonly trustedDir: string;

  constructor(private readonly options: DeviceTrustStoreOptions) {
    safePathComponent(options.deviceType ?? 'ci', 'device type');
    this.trustedDir = join(options.storageDir, TUF_DIRECTORY);
  }

  /** The root chain (image roots, then accepted ones, contiguous from the oldest) and the stored metadata. */
  async load(): Promise<DeviceTrust> {
    const byVersion = new Map<number, string>();
    for (const [version, path] of await listRootFiles(this.trustedDir)) byVersion.set(version, path);
    for (const [version, path] of await listImageRoots(this.options.rootsDir, this.options.deviceType)) byVersion.set(version, path);
    const versions = [...byVersion.keys()].sort((a, b) => a - b);
    if (versions.length === 0) throw new MetadataNotFoundError(`no root metadata in ${this.options.rootsDir} nor ${this.trustedDir}`);
    const roots: MetadataFile[] = [];
    for (let version = versions[0]!; byVersion.has(version); version++) roots.push(await readRootFile(byVersion.get(version)!));
    const previous: PreviouslyTrusted = {
      timestamp: await this.readStored(TUF_FILES.timestamp, metadataSizeLimits.timestamp),
      snapshot: await this.readStored(TUF_FILES.snapshot, metadataSizeLimits.snapshot),
      targets: await this.readStored(TUF_FILES.targets, metadataSizeLimits.targets),
    };
    return { roots, previous };
  }

  /** Stores what became trusted in `verified`: new roots first, then the other roles. */
  async persist(verified: VerifiedMedium): Promise<void> {
    for (const { path, bytes } of this.toPersist(verified)) await writeFileAtomic(path, bytes);
  }

  async persistNeed(verified: VerifiedMedium): Promise<{ bytes: number; files: number }> {
    const files = this.toPersist(verified);
    return { bytes: files.reduce((sum, file) => sum + file.bytes.length, 0), files: files.length };
  }

  private toPersist(verified: VerifiedMedium): { path: string; bytes: Uint8Array }[] {
    const files: { name: string; metadata: { readonly rawBytes: Uint8Array } }[] = verified.newRoots.map((root) => ({ name: rootFileName(root.fields.version), metadata: root }));
    const others = [
      [TUF_FILES.timestamp, verified.timestamp],
      [TUF_FILES.snapshot, verified.snapshot],
      [TUF_FILES.targets, verified.usedStoredMetadata ? undefined : verified.targets],
      [TUF_FILES.bundleTargets, verified.bundleTargets],
    ] as const;
    for (const [name, metadata] of others) if (metadata) files.push({ name, metadata });
    return files.map(({ name, metadata }) => ({ path: join(this.trustedDir, name), bytes: metadata.rawBytes }));
  }

  private async readStored(name: string, maxBytes: number): Promise<MetadataFile | undefined> {
    try {
      return await readLocalFile(join(this.trustedDir, name), maxBytes);
    } catch (error) {
      if (error instanceof MetadataNotFoundError) return undefined;
      throw error;
    }
  }
}

async function listRootFiles(directory: string): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return found;
    throw error;
  }
  for (const name of names) {
    const version = rootFileVersion(name);
    if (version !== undefined) found.set(version, join(directory, name));
  }
  return found;
}

/** A trusted metadata file of the device, read as a regular file (readRegularFile: a FIFO would hang the read). */
async function readLocalFile(path: string, maxBytes: number): Promise<MetadataFile> {
  const bytes = await readRegularFile(path, {
    what: 'trusted metadata file',
    maxBytes,
    tooLarge: (size) => new InvalidMetadataError(`${path}: is ${size} bytes, more than the ${maxBytes} allowed`),
  });
  if (bytes === undefined) throw new MetadataNotFoundError(`${path} not found`);
  return { fileName: path, bytes };
}
