import { InvalidMetadataError } from '../errors.js';
import type { Medium } from '../medium/medium.js';
import { safeRelativePath } from '../medium/safe-path.js';

/**
 * `bundle.json`, at the root of every bundle `bundle create` writes: what the bundle holds and the size and
 * sha256 of every other file, so that a copy can be checked byte for byte (`bundle verify`) and summarised
 * (`bundle inspect`) without TUF keys. It is a convenience for technicians, not a trust anchor: devices trust
 * TUF and the app hash chain only. In archives it is the last entry, written once every hash is known.
 */
export const MANIFEST_PATH = 'bundle.json';
export const MANIFEST_FORMAT = 'fioup-offline-bundle';
export const MANIFEST_FORMAT_VERSION = 1;
const MAX_MANIFEST_BYTES = 64 << 20;

export interface BundleFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface BundleApp {
  readonly name: string;
  readonly uri: string;
}

export interface BundleTarget {
  readonly name: string;
  readonly version: string;
  readonly hardwareIds: readonly string[];
  readonly tags: readonly string[];
  readonly apps: readonly BundleApp[];
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

export async function readManifest(medium: Medium): Promise<BundleManifest> {
  if (!(await medium.stat(MANIFEST_PATH))) throw new InvalidMetadataError(`${medium.description} has no ${MANIFEST_PATH}: not written by 'bundle create'`);
  const bytes = await medium.readFile(MANIFEST_PATH, MAX_MANIFEST_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new InvalidMetadataError(`${medium.description}: ${MANIFEST_PATH} is not JSON`, { cause: error });
  }
  return checkManifest(value, `${medium.description}: ${MANIFEST_PATH}`);
}

function checkManifest(value: unknown, where: string): BundleManifest {
  const fail = (what: string): never => {
    throw new InvalidMetadataError(`${where}: ${what}`);
  };
  const manifest = value as Partial<BundleManifest> | null;
  if (typeof manifest !== 'object' || manifest === null) return fail('not a JSON object');
  if (manifest.format !== MANIFEST_FORMAT) fail(`format is not '${MANIFEST_FORMAT}'`);
  if (manifest.formatVersion !== MANIFEST_FORMAT_VERSION) fail(`format version ${String(manifest.formatVersion)} is not supported (expected ${MANIFEST_FORMAT_VERSION})`);
  if (!Array.isArray(manifest.files)) fail('files is not a list');
  if (!Array.isArray(manifest.targets)) fail('targets is not a list');
  for (const [index, file] of manifest.files!.entries()) {
    if (typeof file?.path !== 'string' || safeRelativePath(file.path, `files[${index}].path`) !== file.path) fail(`files[${index}] has a bad path`);
    if (!Number.isSafeInteger(file.size) || file.size < 0) fail(`files[${index}] (${file.path}) has a bad size`);
    if (typeof file.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.sha256)) fail(`files[${index}] (${file.path}) has a bad sha256`);
  }
  return manifest as BundleManifest;
}
