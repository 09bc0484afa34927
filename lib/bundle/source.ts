import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidMetadataError, MediumNotFoundError, MetadataNotFoundError, NoMatchingTargetError, TargetNotFoundError, UnsafePathError } from '../errors.js';
import {
  APP_VERSIONS_DIRECTORY, appBlobName, isContentAddressed, isInside, OSTREE_REPO_DIRECTORY, rootFileName, rootVersionOfPath, TUF_DIRECTORY,
  TUF_FILES, tufPath,
} from '../medium/layout.js';
import { safeRelativePath } from '../medium/safe-path.js';
import { parseBundleTargets, parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../tuf/dialect.js';
import { metadataSizeLimits } from '../tuf/medium-source.js';
import type { BundleTargetsMetadata, SignedMetadata, CommonFields, TargetsMetadata } from '../tuf/model.js';
import type { MediumContent } from './content.js';
import { pumpHashing } from './hashing.js';
import { MANIFEST_PATH } from './manifest.js';
import { offeredTargets, type OfferedTarget } from './offered-targets.js';

/** A file of a fioctl download that goes into the bundle. */
export interface SourceFile {
  /** Path in the layout (`tuf/targets.json`, `apps/blobs/sha256/...`). */
  readonly path: string;
  readonly localPath: string;
  readonly size: number;
}

/** Which targets to keep; both empty or absent keeps every target of the download(s). */
export interface BundleSelection {
  readonly targets?: readonly string[];
  readonly hardwareIds?: readonly string[];
}

/** One or more fioctl downloads, merged, with the selected targets: what `bundle create` writes. */
export interface BundleSource {
  /** Sorted by path (byte order). */
  readonly files: readonly SourceFile[];
  readonly targets: readonly OfferedTarget[];
  /** Whether a selection dropped targets: then only the apps the kept ones reach belong in the bundle (`keepReachedApps`). */
  readonly narrowed: boolean;
  /** Earliest expiry of the metadata a device will read (newest root, timestamp, snapshot, targets, bundle list). */
  readonly metadataExpires: Date;
  /** The download directories the files come from. */
  readonly directories: readonly string[];
  /** Decisions worth telling the user: which metadata won a merge, what a selection dropped. */
  readonly notes: readonly string[];
}

const ROLE_FILES = [TUF_FILES.timestamp, TUF_FILES.snapshot, TUF_FILES.targets].map(tufPath);
const BUNDLE_TARGETS_FILE = tufPath(TUF_FILES.bundleTargets);

interface Download {
  readonly directory: string;
  readonly files: Map<string, SourceFile>;
  readonly versions: readonly [number, number, number];
  readonly targets: TargetsMetadata;
  readonly bundleTargets: BundleTargetsMetadata | undefined;
  readonly expiries: readonly Date[];
}

/** Reads fioctl offline-update directories, merges them and selects the targets to keep. */
export async function loadSource(directories: readonly string[], selection: BundleSelection = {}): Promise<BundleSource> {
  if (directories.length === 0) throw new MediumNotFoundError('no fioctl offline-update directory given');
  const downloads = await Promise.all(directories.map(readDownload));
  const notes: string[] = [];
  const merged = await mergeDownloads(downloads, notes);
  const expiries = [...merged.newest.expiries, ...(merged.bundleTargets ? [merged.bundleTargets.fields.expires] : [])];
  return {
    files: [...merged.files.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path))),
    targets: selectTargets(merged.newest, merged.bundleTargets, selection),
    narrowed: (selection.targets?.length ?? 0) > 0 || (selection.hardwareIds?.length ?? 0) > 0,
    metadataExpires: new Date(Math.min(...expiries.map((date) => date.getTime()))),
    directories: [...directories],
    notes,
  };
}

async function readDownload(directory: string): Promise<Download> {
  const info = await lstat(directory).catch(() => undefined);
  if (!info?.isDirectory()) throw new MediumNotFoundError(`${directory} is not a directory`);
  const files = new Map<string, SourceFile>();
  await listFiles(directory, '', files);
  if (![...files.keys()].some((path) => isInside(path, TUF_DIRECTORY))) throw new MetadataNotFoundError(`${directory} holds no '${TUF_DIRECTORY}/' directory: not a fioctl offline-update download`);
  // The limits a device reads the medium with: a download a device would refuse is refused here.
  const read = async <Fields extends CommonFields>(path: string, limit: number, parse: (bytes: Buffer, name: string) => SignedMetadata<Fields>) => {
    const file = files.get(path);
    if (!file) throw new MetadataNotFoundError(`${directory}: ${path} is missing`);
    if (file.size > limit) throw new InvalidMetadataError(`${file.localPath} is implausibly large (${file.size} bytes, more than the ${limit} a device reads)`);
    return parse(await readFile(file.localPath), file.localPath);
  };
  const timestamp = await read(tufPath(TUF_FILES.timestamp), metadataSizeLimits.timestamp, parseTimestamp);
  const snapshot = await read(tufPath(TUF_FILES.snapshot), metadataSizeLimits.snapshot, parseSnapshot);
  const targets = await read(tufPath(TUF_FILES.targets), metadataSizeLimits.targets, parseTargets);
  const bundleTargets = files.has(BUNDLE_TARGETS_FILE) ? await read(BUNDLE_TARGETS_FILE, metadataSizeLimits.bundleTargets, parseBundleTargets) : undefined;
  const rootVersions = [...files.keys()].flatMap((path) => rootVersionOfPath(path) ?? []);
  const newestRoot = rootVersions.length > 0 ? await read(tufPath(rootFileName(Math.max(...rootVersions))), metadataSizeLimits.root, parseRoot) : undefined;
  return {
    directory,
    files,
    versions: [timestamp.fields.version, snapshot.fields.version, targets.fields.version],
    targets,
    bundleTargets,
    expiries: [timestamp, snapshot, targets, ...(newestRoot ? [newestRoot] : [])].map((metadata) => metadata.fields.expires),
  };
}

/** Regular files and directories only: a link or a device in a download is refused, not followed. */
async function listFiles(root: string, relative: string, into: Map<string, SourceFile>): Promise<void> {
  const absolute = relative === '' ? root : join(root, relative);
  for (const name of (await readdir(absolute)).sort()) {
    const path = relative === '' ? name : `${relative}/${name}`;
    safeRelativePath(path, `${root}: file name`);
    const info = await lstat(join(root, path));
    if (info.isDirectory()) await listFiles(root, path, into);
    else if (info.isFile()) {
      if (path !== MANIFEST_PATH) into.set(path, { path, localPath: join(root, path), size: info.size });
    } else throw new UnsafePathError(`${join(root, path)} is neither a regular file nor a directory`);
  }
}

interface MergedDownloads {
  readonly files: Map<string, SourceFile>;
  readonly newest: Download;
  readonly bundleTargets: BundleTargetsMetadata | undefined;
}

/**
 * Several downloads become one layout. TUF metadata cannot be combined (it is signed), so the download with
 * the newest timestamp/snapshot/targets versions provides them, and every other download's targets must be in
 * its targets.json with the same hashes. Likewise one signed bundle-targets.json is kept: one whose list holds
 * every other's. Any other file present in several downloads must be the same in all of them.
 */
async function mergeDownloads(downloads: readonly Download[], notes: string[]): Promise<MergedDownloads> {
  const newest = downloads.reduce((best, download) => (compareVersions(download.versions, best.versions) > 0 ? download : best));
  for (const other of downloads) {
    if (other === newest) continue;
    if (compareVersions(other.versions, newest.versions) === 0) {
      for (const path of ROLE_FILES) await requireSameFile(newest, other, path);
    }
    for (const name of bundledTargetNames(other)) {
      const theirs = other.targets.fields.targets.get(name);
      const ours = newest.targets.fields.targets.get(name);
      if (!ours || ours.hashes.sha256 !== theirs?.hashes.sha256) {
        throw new InvalidMetadataError(
          `cannot merge ${other.directory} into ${newest.directory}: target ${name} is ${ours ? 'different' : 'missing'} in the newer metadata (targets version ${newest.versions[2]}); download both targets together with 'fioctl targets offline-update --allow-multiple-targets'`,
        );
      }
    }
  }
  const bundleTargets = chooseBundleTargets(downloads);
  if (downloads.length > 1) notes.push(`TUF metadata from ${newest.directory} (timestamp ${newest.versions[0]}, snapshot ${newest.versions[1]}, targets ${newest.versions[2]})`);
  const files = new Map<string, SourceFile>();
  for (const download of [newest, ...downloads.filter((download) => download !== newest)]) {
    for (const [path, file] of download.files) {
      if (isInside(path, TUF_DIRECTORY) && rootVersionOfPath(path) === undefined) {
        if (download === newest && path !== BUNDLE_TARGETS_FILE) files.set(path, file);
        continue;
      }
      const existing = files.get(path);
      if (!existing) files.set(path, file);
      else await requireSameContent(existing, file);
    }
  }
  if (bundleTargets) files.set(BUNDLE_TARGETS_FILE, downloads.find((download) => download.bundleTargets === bundleTargets)!.files.get(BUNDLE_TARGETS_FILE)!);
  return { files, newest, bundleTargets };
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
}

function bundledTargetNames(download: Download): readonly string[] {
  return download.bundleTargets?.fields.bundle.targets ?? [...download.targets.fields.targets.keys()];
}

function chooseBundleTargets(downloads: readonly Download[]): BundleTargetsMetadata | undefined {
  const lists = downloads.flatMap((download) => (download.bundleTargets ? [download] : []));
  if (lists.length === 0) return undefined;
  const covering = lists.find((candidate) => lists.every((other) => other.bundleTargets!.fields.bundle.targets.every((name) => candidate.bundleTargets!.fields.bundle.targets.includes(name))));
  if (!covering) {
    throw new InvalidMetadataError(
      `cannot merge: the signed bundle-targets.json of ${lists.map((download) => download.directory).join(' and ')} list different targets and none lists them all; download the targets together with 'fioctl targets offline-update --allow-multiple-targets'`,
    );
  }
  for (const other of lists) {
    if (other.bundleTargets!.fields.bundle.type !== covering.bundleTargets!.fields.bundle.type) {
      throw new InvalidMetadataError(`cannot merge a '${other.bundleTargets!.fields.bundle.type}' bundle (${other.directory}) with a '${covering.bundleTargets!.fields.bundle.type}' one (${covering.directory})`);
    }
  }
  return covering.bundleTargets;
}

async function requireSameFile(a: Download, b: Download, path: string): Promise<void> {
  const mine = a.files.get(path);
  const theirs = b.files.get(path);
  if (mine && theirs) await requireSameContent(mine, theirs);
}

/** Content-addressed files (blobs, ostree objects) only need the same size: their name is their hash. */
async function requireSameContent(a: SourceFile, b: SourceFile): Promise<void> {
  const same = a.size === b.size && (isContentAddressed(a.path) || (await fileSha256(a.localPath)) === (await fileSha256(b.localPath)));
  if (!same) throw new InvalidMetadataError(`cannot merge: ${a.path} differs between ${a.localPath} and ${b.localPath}`);
}

async function fileSha256(path: string): Promise<string> {
  return (await pumpHashing(createReadStream(path))).sha256;
}

function selectTargets(newest: Download, bundleTargets: BundleTargetsMetadata | undefined, selection: BundleSelection): OfferedTarget[] {
  const offered = offeredTargets(newest.targets, bundleTargets);
  for (const name of selection.targets ?? []) {
    if (!offered.some((entry) => entry.name === name)) {
      throw new TargetNotFoundError(`target ${name} is not in the download(s); they hold ${offered.map((entry) => entry.name).join(', ') || 'no target'}`);
    }
  }
  const kept = offered.filter((entry) =>
    ((selection.targets?.length ?? 0) === 0 || selection.targets!.includes(entry.name)) &&
    ((selection.hardwareIds?.length ?? 0) === 0 || (entry.target?.hardwareIds ?? []).some((id) => selection.hardwareIds!.includes(id))));
  if (kept.length === 0) throw new NoMatchingTargetError(`no target of the download(s) matches hardware id(s) ${selection.hardwareIds?.join(', ')}`);
  return kept;
}

/**
 * A narrowed bundle keeps, under `apps/`, only the app versions the kept targets pin and exactly the blobs their
 * verified trees reach, for every platform the download holds; everything else (tuf/, ostree_repo/) stays as it is.
 */
export function keepReachedApps(source: BundleSource, content: MediumContent): { files: SourceFile[]; note: string } {
  const kept: SourceFile[] = [];
  let dropped = 0;
  for (const file of source.files) {
    if (appBlobName(file.path) !== undefined) {
      if (content.reachedBlobs.has(file.path)) kept.push(file);
      else dropped++;
    } else if (!isInside(file.path, APP_VERSIONS_DIRECTORY) || [...content.appDirectories].some((directory) => isInside(file.path, directory))) {
      kept.push(file);
    }
  }
  return {
    files: kept,
    note: `kept ${source.targets.length} target(s) and ${content.appDirectories.size} app version(s); dropped ${dropped} unreferenced blob(s); ${OSTREE_REPO_DIRECTORY}/ is kept whole`,
  };
}
