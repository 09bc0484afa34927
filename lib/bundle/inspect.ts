import { rootFileVersion, TUF_DIRECTORY } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { openMedium } from '../medium/open-medium.js';
import { findReportsBeside, type ReportListing } from '../report/list.js';
import { parseBundleTargets, parseRoot, parseSnapshot, parseTargets, parseTimestamp } from '../tuf/dialect.js';
import { MediumMetadataSource } from '../tuf/medium-source.js';
import type { BundleTargetsMetadata, RootMetadata } from '../tuf/model.js';
import { countRoleSignatures } from '../tuf/signatures.js';
import { describeContent } from './content.js';
import { hasManifest, readManifest, type BundleTarget } from './manifest.js';
import { offeredTargets } from './offered-targets.js';

/** bundle-targets.json as `fioctl targets offline-update show` presents it, its signatures counted against the root. */
export interface BundleTargetsSummary {
  readonly type: string;
  readonly tag: string | undefined;
  readonly expires: string;
  readonly targets: readonly string[];
  /** Key ids of the signatures it carries. */
  readonly signatures: readonly string[];
  /** Against the targets role of the newest root on the medium; undefined when it holds no root (devices use theirs). */
  readonly targetsRole: {
    readonly rootVersion: number;
    readonly allowedKeys: readonly string[];
    readonly threshold: number;
    /** Distinct targets keys whose signature verifies. */
    readonly validSignatures: number;
  } | undefined;
}

/** What `bundle inspect` prints, of a bundle or of a raw fioctl download alike. Nothing is hashed: `bundle verify` does that. */
export interface BundleSummary {
  readonly medium: string;
  /** From bundle.json (the tool with the commit it was built from); undefined for a raw fioctl download. */
  readonly writtenBy: { readonly tool: string; readonly createdAt: string } | undefined;
  readonly fileCount: number;
  readonly totalBytes: number;
  /** The earliest expiry of the metadata a device reads (newest root, timestamp, snapshot, targets, bundle-targets). */
  readonly metadataExpires: string;
  readonly bundleTargets: BundleTargetsSummary | undefined;
  /** Every target offered, with what a device can install of it; newest version first. */
  readonly targets: readonly BundleTarget[];
  /** The same targets per hardware id. */
  readonly targetsByHardwareId: Readonly<Record<string, readonly BundleTarget[]>>;
  /** The reports devices wrote onto the drive (`fioup-offline auto`), oldest first. */
  readonly reports: readonly ReportListing[];
}

export async function inspectBundle(path: string): Promise<BundleSummary> {
  const medium = await openMedium(path);
  try {
    const source = new MediumMetadataSource(medium);
    const root = await newestRoot(medium, source);
    const parse = <T>(file: { bytes: Buffer; fileName: string }, parser: (bytes: Buffer, name: string) => T) => parser(file.bytes, file.fileName);
    const timestamp = parse(await source.readTimestamp(), parseTimestamp);
    const snapshot = parse(await source.readSnapshot(), parseSnapshot);
    const targets = parse(await source.readTargets(), parseTargets);
    const bundleFile = await source.readBundleTargets();
    const bundle = bundleFile ? parse(bundleFile, parseBundleTargets) : undefined;
    const expiries = [root, timestamp, snapshot, targets, bundle].flatMap((metadata) => (metadata ? [metadata.fields.expires.getTime()] : []));

    const content = await describeContent(medium, offeredTargets(targets, bundle));
    const sorted = [...content.targets].sort((a, b) => Number(b.version) - Number(a.version));
    const byHardwareId: Record<string, BundleTarget[]> = {};
    for (const target of sorted) for (const hardwareId of target.hardwareIds) (byHardwareId[hardwareId] ??= []).push(target);

    const manifest = (await hasManifest(medium)) ? await readManifest(medium) : undefined;
    const files = manifest?.files ?? (await listFiles(medium, ''));
    return {
      medium: medium.description,
      writtenBy: manifest
        ? { tool: `${manifest.tool.name} ${manifest.tool.version}${manifest.tool.commit ? ` (commit ${manifest.tool.commit})` : ''}`, createdAt: manifest.createdAt }
        : undefined,
      fileCount: files.length,
      totalBytes: files.reduce((sum, file) => sum + file.size, 0),
      metadataExpires: new Date(Math.min(...expiries)).toISOString(),
      bundleTargets: bundle ? summarizeBundleTargets(bundle, root) : undefined,
      targets: sorted,
      targetsByHardwareId: byHardwareId,
      reports: await findReportsBeside(path),
    };
  } finally {
    await medium.close();
  }
}

async function newestRoot(medium: Medium, source: MediumMetadataSource): Promise<RootMetadata | undefined> {
  const versions = (await medium.list(TUF_DIRECTORY)).flatMap((name) => rootFileVersion(name) ?? []);
  if (versions.length === 0) return undefined;
  const file = await source.readRoot(Math.max(...versions));
  return file ? parseRoot(file.bytes, file.fileName) : undefined;
}

function summarizeBundleTargets(bundle: BundleTargetsMetadata, root: RootMetadata | undefined): BundleTargetsSummary {
  const role = root?.fields.roles.targets;
  return {
    type: bundle.fields.bundle.type,
    tag: bundle.fields.bundle.tag,
    expires: bundle.fields.expires.toISOString(),
    targets: bundle.fields.bundle.targets,
    signatures: bundle.signatures.map((signature) => signature.keyId),
    targetsRole: root && role
      ? { rootVersion: root.fields.version, allowedKeys: role.keyIds, threshold: role.threshold, validSignatures: countRoleSignatures(bundle, root.fields, 'targets') }
      : undefined,
  };
}

/** Every file of the medium (a raw download has no bundle.json listing them). */
async function listFiles(medium: Medium, directory: string): Promise<{ size: number }[]> {
  const files: { size: number }[] = [];
  for (const name of await medium.list(directory)) {
    const path = directory === '' ? name : `${directory}/${name}`;
    const entry = await medium.stat(path);
    if (entry?.type === 'file') files.push(entry);
    else if (entry?.type === 'directory') files.push(...(await listFiles(medium, path)));
  }
  return files;
}
