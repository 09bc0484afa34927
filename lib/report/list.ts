import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { REPORTS_DIRECTORY } from '../medium/layout.js';
import { parseStrictJson } from '../tuf/strict-json.js';
import { REPORT_FORMAT, type UpdateReport } from './report.js';

/** One report found on a drive, as `bundle inspect` lists it. */
export interface ReportListing {
  readonly file: string;
  /** `<hardware id>-<device id or host>`: the directory it is in. */
  readonly device: string;
  readonly finishedAt: string | undefined;
  readonly result: string | undefined;
  readonly exitCode: number | undefined;
  readonly previousTarget: string | undefined;
  readonly newTarget: string | undefined;
  /** Set when the file is not a report this tool can read. */
  readonly problem?: string;
}

const MAX_REPORT_BYTES = 4 << 20;

/** The directory `auto` writes its reports into for a medium path: the directory itself, or the one holding the archive. */
export async function reportsRootOf(mediumPath: string): Promise<string> {
  return (await stat(mediumPath)).isDirectory() ? mediumPath : dirname(mediumPath);
}

/**
 * The reports on the drive a bundle is on: under the bundle's own directory (or the archive's) and the one above
 * it, where `auto --src-dir <mount point>` puts them when the bundle is a subdirectory. Oldest first.
 */
export async function findReportsBeside(bundlePath: string): Promise<ReportListing[]> {
  const root = await reportsRootOf(bundlePath);
  const roots = [...new Set([root, dirname(root)])];
  const listings: ReportListing[] = [];
  for (const directory of roots) listings.push(...(await reportsUnder(join(directory, REPORTS_DIRECTORY))));
  return listings.sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '') || a.file.localeCompare(b.file));
}

async function reportsUnder(reportsDirectory: string): Promise<ReportListing[]> {
  const devices = await readdir(reportsDirectory, { withFileTypes: true }).catch(() => []);
  const listings: ReportListing[] = [];
  for (const device of devices.filter((entry) => entry.isDirectory())) {
    const directory = join(reportsDirectory, device.name);
    for (const name of (await readdir(directory)).filter((file) => file.endsWith('.json')).sort()) {
      listings.push(await readListing(join(directory, name), device.name));
    }
  }
  return listings;
}

async function readListing(file: string, device: string): Promise<ReportListing> {
  const unknown = { file, device, finishedAt: undefined, result: undefined, exitCode: undefined, previousTarget: undefined, newTarget: undefined };
  try {
    // A drive is anyone's: only a regular file is read (a FIFO would hang the read), capped, with the strict reader.
    const info = await lstat(file);
    if (!info.isFile()) return { ...unknown, problem: 'not a regular file' };
    if (info.size > MAX_REPORT_BYTES) return { ...unknown, problem: `larger than ${MAX_REPORT_BYTES} bytes` };
    const report = parseStrictJson(await readFile(file), file) as Partial<UpdateReport>;
    if (report?.format !== REPORT_FORMAT) return { ...unknown, problem: 'not a fioup-offline report' };
    return {
      file,
      device,
      finishedAt: stringOrUndefined(report.finishedAt),
      result: stringOrUndefined(report.result),
      exitCode: typeof report.exitCode === 'number' ? report.exitCode : undefined,
      previousTarget: stringOrUndefined(report.previousTarget?.name),
      newTarget: stringOrUndefined(report.newTarget?.name),
    };
  } catch (error) {
    return { ...unknown, problem: `unreadable: ${(error as Error).message}` };
  }
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
