import { InvalidMetadataError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import { safeRelativePath } from '../medium/safe-path.js';
import { parseStrictJson } from '../tuf/strict-json.js';

/**
 * `bundle.json`, at the root of every bundle `bundle create` writes: what the bundle holds and the size and
 * sha256 of every other file, so that a copy can be checked byte for byte (`bundle verify`) and summarised
 * (`bundle inspect`) without TUF keys. It is a convenience for technicians, not a trust anchor: devices trust
 * TUF and the app hash chain only. In archives it is the last entry, written once every hash is known.
 */
export const MANIFEST_PATH = 'bundle.json';
export const MANIFEST_FORMAT = 'fioup-offline-bundle';
/** 2: targets say what a device can install (platforms, rootfs, installs). Version 1 bundles are still read. */
export const MANIFEST_FORMAT_VERSION = 2;
const READABLE_FORMAT_VERSIONS: readonly number[] = [1, MANIFEST_FORMAT_VERSION];
const MAX_MANIFEST_BYTES = 64 << 20;

export interface BundleFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** A platform (`linux/arm64`) whose images the bundle holds, and the bytes of every blob they need. */
export interface PlatformContent {
  readonly platform: string;
  readonly bytes: number;
}

export interface BundleApp {
  readonly name: string;
  readonly uri: string;
  /** The platforms the bundle holds the app's images for; none when it does not hold the app. */
  readonly platforms: readonly PlatformContent[];
}

/** What a device can install of a target from the bundle. */
export type TargetInstalls = 'rootfs and apps' | 'rootfs only' | 'apps only' | 'nothing';

export interface BundleTarget {
  readonly name: string;
  /** The target's version; null for a target no device can use (earlier builds wrote it as a string). */
  readonly version: number | null;
  readonly hardwareIds: readonly string[];
  readonly tags: readonly string[];
  /** The apps the target has the device run, narrowed by what its `fetched-apps` says was fetched. */
  readonly apps: readonly BundleApp[];
  /** The target's `hashes.sha256` and whether the bundle's ostree_repo holds it as a commit. */
  readonly rootfs: { readonly commit: string | undefined; readonly present: boolean };
  /** The platforms every app of the target can be installed on from the bundle, with the bytes they take together. */
  readonly platforms: readonly PlatformContent[];
  readonly installs: TargetInstalls;
  /** Why no device can use the target (devices set it aside). */
  readonly problem?: string;
}

export interface BundleManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly formatVersion: typeof MANIFEST_FORMAT_VERSION;
  /** The fioup-offline that wrote the bundle; `commit` since 0.1.0 binaries (absent in older bundles). */
  readonly tool: { readonly name: string; readonly version: string; readonly commit?: string };
  readonly createdAt: string;
  /** The earliest `expires` of the TUF metadata in the bundle: after it, devices refuse the bundle. */
  readonly metadataExpires: string;
  readonly targets: readonly BundleTarget[];
  /** Every file of the bundle except this manifest, sorted by path (byte order). */
  readonly files: readonly BundleFile[];
}

export function serializeManifest(manifest: BundleManifest): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
}

/** What every readable bundle.json holds: the file list and who wrote it (targets are read from the medium itself). */
export type ManifestRecord = Pick<BundleManifest, 'tool' | 'createdAt' | 'metadataExpires' | 'files'> & { readonly formatVersion: number };

/** Whether the medium has a bundle.json: a bundle `bundle create` wrote, not a raw fioctl download. */
export async function hasManifest(medium: Medium): Promise<boolean> {
  return (await medium.stat(MANIFEST_PATH))?.type === 'file';
}

export async function readManifest(medium: Medium): Promise<ManifestRecord> {
  if (!(await medium.stat(MANIFEST_PATH))) throw new InvalidMetadataError(`${medium.description} has no ${MANIFEST_PATH}: not written by 'bundle create'`);
  const where = `${medium.description}: ${MANIFEST_PATH}`;
  // Unsigned and from the medium: capped in size, then nesting and duplicate keys refused, the file named.
  return checkManifest(parseStrictJson(await medium.readFile(MANIFEST_PATH, MAX_MANIFEST_BYTES), where), where);
}

function checkManifest(value: unknown, where: string): ManifestRecord {
  const fail = (what: string): never => {
    throw new InvalidMetadataError(`${where}: ${what}`);
  };
  const manifest = value as Partial<BundleManifest> | null;
  if (typeof manifest !== 'object' || manifest === null) return fail('not a JSON object');
  if (manifest.format !== MANIFEST_FORMAT) fail(`format is not '${MANIFEST_FORMAT}'`);
  if (!READABLE_FORMAT_VERSIONS.includes(manifest.formatVersion as number)) fail(`format version ${String(manifest.formatVersion)} is not supported (expected ${READABLE_FORMAT_VERSIONS.join(' or ')})`);
  if (!Array.isArray(manifest.files)) fail('files is not a list');
  if (!Array.isArray(manifest.targets)) fail('targets is not a list');
  for (const [index, file] of manifest.files!.entries()) {
    if (typeof file?.path !== 'string' || safeRelativePath(file.path, `files[${index}].path`) !== file.path) fail(`files[${index}] has a bad path`);
    if (!Number.isSafeInteger(file.size) || file.size < 0) fail(`files[${index}] (${file.path}) has a bad size`);
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) fail(`files[${index}] (${file.path}) has a bad sha256`);
  }
  return manifest as ManifestRecord;
}
