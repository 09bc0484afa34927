import { access, mkdir } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from '../fs/atomic.js';
import { REPORTS_DIRECTORY } from '../medium/layout.js';
import { renderReportText } from './render-text.js';
import type { UpdateReport } from './report.js';

export type ReportWriteOutcome =
  | { readonly written: true; readonly files: readonly string[] }
  /** The medium is read-only, full, or gone: said in the journal, never a failure of the update. */
  | { readonly written: false; readonly problem: string };

/**
 * Writes `<root>/fioup-offline-reports/<hardware id>-<device id or host>/<UTC time>.json` and the `.txt` beside it,
 * each atomically and fsynced, and the directories it creates made durable too: once this returns, pulling the
 * drive out loses nothing. Names keep to what FAT accepts (no colons).
 */
export async function writeReportOnMedium(root: string, report: UpdateReport): Promise<ReportWriteOutcome> {
  try {
    const directory = join(root, REPORTS_DIRECTORY, deviceDirectoryName(report));
    await makeDirectoriesDurable(root, directory);
    const stem = await freeStem(directory, timeStamp(report.finishedAt));
    const text = join(directory, `${stem}.txt`);
    const json = join(directory, `${stem}.json`);
    await writeFileAtomic(text, renderReportText(report));
    await writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
    return { written: true, files: [json, text] };
  } catch (error) {
    return { written: false, problem: (error as Error).message };
  }
}

function deviceDirectoryName(report: UpdateReport): string {
  return `${fileNameSafe(report.device.hardwareId)}-${fileNameSafe(report.device.deviceId ?? report.device.hostname)}`;
}

function fileNameSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}

/** 2025-05-20T10:11:12.345Z → 20250520T101112Z (ISO 8601 basic format). */
function timeStamp(iso: string): string {
  return `${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
}

/** The stem, or `<stem>-2`, `-3`... when an earlier report of the same second is there. */
async function freeStem(directory: string, stem: string): Promise<string> {
  for (let index = 1; ; index++) {
    const candidate = index === 1 ? stem : `${stem}-${index}`;
    if (!(await exists(join(directory, `${candidate}.json`)))) return candidate;
  }
}

/** Creates `directory` under `root` one level at a time, fsyncing each new level's parent. */
async function makeDirectoriesDurable(root: string, directory: string): Promise<void> {
  let current = root;
  for (const name of relative(root, directory).split(sep)) {
    current = join(current, name);
    if (await exists(current)) continue;
    await mkdir(current);
    await fsyncDirectory(dirname(current));
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
