import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppStore } from '../apps/app-store.js';
import { appBlobs } from '../apps/app-tree.js';
import { InvalidMetadataError, MediumNotFoundError, MetadataNotFoundError, NoMatchingTargetError, TargetNotFoundError, UnsafePathError } from '../errors.js';
import {
  APP_VERSIONS_DIRECTORY, appBlobName, appBlobPath, appVersionDirectory, isContentAddressed, isInside, OSTREE_REPO_DIRECTORY, rootFileName,
  rootVersionOfPath, TUF_DIRECTORY, TUF_FILES, tufPath,
} from '../medium/layout.js';
import { safeRelativePath } from '../medium/safe-path.js';
import { parseBundleTargets, parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../tuf/dialect.js';
import type { BundleTargetsMetadata, SignedMetadata, CommonFields, TargetsMetadata } from '../tuf/model.js';
import { shippedAppTrees } from './app-trees.js';
import { pumpHashing } from './hashing.js';
import { MANIFEST_PATH, type BundleApp, type BundleTarget } from './manifest.js';
import { SourceMedium } from './source-medium.js';

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

/** One or more fioctl downloads, merged and narrowed to the selection: what `bundle create` writes. */
export interface BundleSource {
  /** Sorted by path (byte order). */
  readonly files: readonly SourceFile[];
  readonly targets: readonly BundleTarget[];
  /** Earliest expiry of the metadata a device will read (newest root, timestamp, snapshot, targets, bundle list). */
  readonly metadataExpires: Date;
  /** The download directories the files come from. */
  readonly directories: readonly string[];
  /** Decisions worth telling the user: which metadata won a merge, what a selection dropped. */
  readonly notes: readonly string[];
}

const MAX_METADATA_BYTES = 32 << 20;
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

/** Reads fioctl offline-update directories, merges them and keeps the selected targets with what they need. */
export async function loadSource(directories: readonly string[], selection: BundleSelection = {}): Promise<BundleSource> {
  if (directories.length === 0) throw new MediumNotFoundError('no fioctl offline-update directory given');
  const downloads = await Promise.all(directories.map(readDownload));
  const notes: string[] = [];
  const merged = await mergeDownloads(downloads, notes);
  const targets = selectTargets(merged.newest, merged.bundleTargets, selection);
  let files = merged.files;
  if ((selection.targets?.length ?? 0) > 0 || (selection.hardwareIds?.length ?? 0) > 0) files = await keepNeededApps(directories, files, targets, notes);
  const sorted = [...files.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const expiries = [...merged.newest.expiries, ...(merged.bundleTargets ? [merged.bundleTargets.fields.expires] : [])];
  return {
    files: sorted,
    targets,
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
  const read = async <Fields extends CommonFields>(path: string, parse: (bytes: Buffer, name: string) => SignedMetadata<Fields>) => {
    const file = files.get(path);
    if (!file) throw new MetadataNotFoundError(`${directory}: ${path} is missing`);
    if (file.size > MAX_METADATA_BYTES) throw new InvalidMetadataError(`${file.localPath} is implausibly large (${file.size} bytes)`);
    return parse(await readFile(file.localPath), file.localPath);
  };
  const [timestamp, snapshot, targets] = [await read(ROLE_FILES[0]!, parseTimestamp), await read(ROLE_FILES[1]!, parseSnapshot), await read(ROLE_FILES[2]!, parseTargets)];
  const bundleTargets = files.has(BUNDLE_TARGETS_FILE) ? await read(BUNDLE_TARGETS_FILE, parseBundleTargets) : undefined;
  const rootVersions = [...files.keys()].flatMap((path) => rootVersionOfPath(path) ?? []);
  const newestRoot = rootVersions.length > 0 ? await read(tufPath(rootFileName(Math.max(...rootVersions))), parseRoot) : undefined;
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

function selectTargets(newest: Download, bundleTargets: BundleTargetsMetadata | undefined, selection: BundleSelection): BundleTarget[] {
  const all = newest.targets.fields.targets;
  const names = bundleTargets?.fields.bundle.targets ?? [...all.keys()];
  for (const name of selection.targets ?? []) {
    if (!names.includes(name)) throw new TargetNotFoundError(`target ${name} is not in the download(s); they hold ${names.join(', ') || 'no target'}`);
  }
  const summaries = names.map((name) => {
    const entry = all.get(name);
    if (!entry) throw new InvalidMetadataError(`${BUNDLE_TARGETS_FILE} lists ${name}, which targets.json does not hold`);
    return summarizeTarget(name, entry.custom);
  });
  const kept = summaries.filter((target) =>
    ((selection.targets?.length ?? 0) === 0 || selection.targets!.includes(target.name)) &&
    ((selection.hardwareIds?.length ?? 0) === 0 || target.hardwareIds.some((id) => selection.hardwareIds!.includes(id))));
  if (kept.length === 0) throw new NoMatchingTargetError(`no target of the download(s) matches hardware id(s) ${selection.hardwareIds?.join(', ')}`);
  return kept;
}

function summarizeTarget(name: string, custom: unknown): BundleTarget {
  const fields = (typeof custom === 'object' && custom !== null ? custom : {}) as Record<string, unknown>;
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const shortlistText = (fields['fetched-apps'] as { shortlist?: unknown } | undefined)?.shortlist;
  const shortlist = typeof shortlistText === 'string' && shortlistText.trim() !== '' ? shortlistText.split(',').map((app) => app.trim()) : undefined;
  const apps: BundleApp[] = Object.entries((fields.docker_compose_apps ?? {}) as Record<string, { uri?: unknown }>)
    .filter(([app]) => !shortlist || shortlist.includes(app))
    .map(([app, value]) => ({ name: app, uri: String(value?.uri ?? '') }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { name, version: String(fields.version ?? ''), hardwareIds: strings(fields.hardwareIds), tags: strings(fields.tags), apps };
}

/**
 * Keeps, under `apps/`, only the app versions the kept targets pin and exactly the blobs that their verified trees
 * reach, for every platform the apps ship; everything else (tuf/, ostree_repo/) stays as it is.
 */
async function keepNeededApps(
  directories: readonly string[], files: Map<string, SourceFile>, targets: readonly BundleTarget[], notes: string[],
): Promise<Map<string, SourceFile>> {
  const store = new AppStore(new SourceMedium({ directories, files: [...files.values()] }));
  const neededAppDirectories = new Set<string>();
  const reachedBlobs = new Set<string>();
  for await (const tree of shippedAppTrees(store, targets)) {
    neededAppDirectories.add(appVersionDirectory(tree.app));
    for (const blob of appBlobs(tree)) reachedBlobs.add(appBlobPath(blob.descriptor.digest));
  }
  const kept = new Map<string, SourceFile>();
  let dropped = 0;
  for (const [path, file] of files) {
    if (appBlobName(path) !== undefined) {
      if (reachedBlobs.has(path)) kept.set(path, file);
      else dropped++;
    } else if (!isInside(path, APP_VERSIONS_DIRECTORY) || [...neededAppDirectories].some((directory) => isInside(path, directory))) {
      kept.set(path, file);
    }
  }
  notes.push(`kept ${targets.length} target(s) and ${neededAppDirectories.size} app version(s); dropped ${dropped} unreferenced blob(s); ${OSTREE_REPO_DIRECTORY}/ is kept whole`);
  return kept;
}
