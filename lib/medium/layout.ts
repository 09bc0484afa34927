import { ociBlobPath } from '../oci/image-layout.js';

/**
 * fioctl's offline-update layout: where everything is on a medium, in a download and in a bundle. This module
 * is the only one that spells these paths; everything else asks it.
 *
 *     tuf/<N>.root.json, timestamp.json, snapshot.json, targets.json, bundle-targets.json
 *     apps/apps/<app>/<app manifest hex>/uri, manifest.json, <archive hex>.tgz, images/...
 *     apps/blobs/sha256/<hex>            every blob of every app chain
 *     ostree_repo/                       a plain OSTree repo (optional)
 */

export const TUF_DIRECTORY = 'tuf';
/** The app store: app versions, and a blob store shaped like an OCI image layout's. */
export const APP_STORE_DIRECTORY = 'apps';
export const OSTREE_REPO_DIRECTORY = 'ostree_repo';
/** The top-level directories of the layout. */
export const LAYOUT_DIRECTORIES: readonly string[] = [TUF_DIRECTORY, APP_STORE_DIRECTORY, OSTREE_REPO_DIRECTORY];

/** Whether `path` lies inside `directory` (both layout paths). */
export function isInside(path: string, directory: string): boolean {
  return path.startsWith(`${directory}/`);
}

// --- tuf/ ----------------------------------------------------------------------------------------------

/** The metadata files of `tuf/` besides the roots. The device keeps its trusted copies under the same names. */
export const TUF_FILES = {
  timestamp: 'timestamp.json',
  snapshot: 'snapshot.json',
  targets: 'targets.json',
  bundleTargets: 'bundle-targets.json',
} as const;

const ROOT_FILE = /^([1-9][0-9]{0,8})\.root\.json$/;

/** `<version>.root.json`; `version` may be a placeholder for messages (`<N>`). */
export function rootFileName(version: number | string): string {
  return `${version}.root.json`;
}

/** The version of a root metadata file named `<N>.root.json`; undefined for any other name. */
export function rootFileVersion(name: string): number | undefined {
  const match = ROOT_FILE.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function tufPath(name: string): string {
  return `${TUF_DIRECTORY}/${name}`;
}

/** The version of the root metadata file at a layout path (`tuf/<N>.root.json`); undefined for any other path. */
export function rootVersionOfPath(path: string): number | undefined {
  return isInside(path, TUF_DIRECTORY) ? rootFileVersion(path.slice(TUF_DIRECTORY.length + 1)) : undefined;
}

// --- apps/ ---------------------------------------------------------------------------------------------

/** Where the app store keeps app versions, `<name>/<manifest hex>`. */
export const APP_VERSIONS_DIRECTORY = `${APP_STORE_DIRECTORY}/apps`;

/** An app version as the layout names it: a safe path component and the app manifest's hex digest. */
export interface AppVersion {
  readonly name: string;
  readonly manifestHex: string;
}

export function appVersionDirectory(app: AppVersion): string {
  return `${APP_VERSIONS_DIRECTORY}/${app.name}/${app.manifestHex}`;
}

/** The file whose presence says the app version is in the store. */
export function appUriPath(app: AppVersion): string {
  return `${appVersionDirectory(app)}/uri`;
}

export function appBlobPath(digest: string): string {
  return `${APP_STORE_DIRECTORY}/${ociBlobPath(digest)}`;
}

const APP_BLOB_DIRECTORY = `${APP_STORE_DIRECTORY}/blobs/sha256`;

/** The name a file of the app store's blob directory has (its sha256, when the download is sound); undefined for any other path. */
export function appBlobName(path: string): string | undefined {
  return isInside(path, APP_BLOB_DIRECTORY) ? path.slice(APP_BLOB_DIRECTORY.length + 1) : undefined;
}

// --- ostree_repo/ --------------------------------------------------------------------------------------

/** Path of a commit object inside an OSTree repo, the same in every repo mode (the medium's and the sysroot's). */
export function commitObjectPath(commit: string): string {
  return `objects/${commit.slice(0, 2)}/${commit.slice(2)}.commit`;
}

export function mediumCommitObjectPath(commit: string): string {
  return `${OSTREE_REPO_DIRECTORY}/${commitObjectPath(commit)}`;
}

/** Blobs and OSTree objects are named by their hash: two files of the same name and size hold the same bytes. */
export function isContentAddressed(path: string): boolean {
  return appBlobName(path) !== undefined || isInside(path, `${OSTREE_REPO_DIRECTORY}/objects`);
}

// --- beside the bundle ---------------------------------------------------------------------------------

/** Where `auto` writes its reports: in the directory it read the bundle from, beside the bundle and never inside it. */
export const REPORTS_DIRECTORY = 'fioup-offline-reports';
