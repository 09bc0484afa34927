import { openMedium } from '../medium/open-medium.js';
import { findReportsBeside, type ReportListing } from '../report/list.js';
import { readManifest, type BundleApp } from './manifest.js';

export interface InspectedTarget {
  readonly name: string;
  readonly version: string;
  readonly tags: readonly string[];
  readonly apps: readonly BundleApp[];
}

/** What `bundle inspect` prints: read from bundle.json only (no file is hashed; use `bundle verify` for that). */
export interface BundleSummary {
  readonly medium: string;
  readonly tool: string;
  readonly createdAt: string;
  readonly metadataExpires: string;
  readonly fileCount: number;
  readonly totalBytes: number;
  /** Targets per hardware id, newest version first. */
  readonly targetsByHardwareId: Readonly<Record<string, readonly InspectedTarget[]>>;
  /** The reports devices wrote onto the drive (`fioup-offline auto`), oldest first. */
  readonly reports: readonly ReportListing[];
}

export async function inspectBundle(path: string): Promise<BundleSummary> {
  const medium = await openMedium(path);
  try {
    const manifest = await readManifest(medium);
    const byHardwareId: Record<string, InspectedTarget[]> = {};
    for (const target of manifest.targets) {
      for (const hardwareId of target.hardwareIds) {
        (byHardwareId[hardwareId] ??= []).push({ name: target.name, version: target.version, tags: target.tags, apps: target.apps });
      }
    }
    for (const targets of Object.values(byHardwareId)) targets.sort((a, b) => Number(b.version) - Number(a.version));
    return {
      medium: medium.description,
      tool: `${manifest.tool.name} ${manifest.tool.version}${manifest.tool.commit ? ` (commit ${manifest.tool.commit})` : ''}`,
      createdAt: manifest.createdAt,
      metadataExpires: manifest.metadataExpires,
      fileCount: manifest.files.length,
      totalBytes: manifest.files.reduce((sum, file) => sum + file.size, 0),
      targetsByHardwareId: byHardwareId,
      reports: await findReportsBeside(path),
    };
  } finally {
    await medium.close();
  }
}
