import { createHash, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { DirectFileReader } from '../fs/direct-read.js';
import { DirectoryMedium } from '../medium/directory-medium.js';
import type { ProgressListener } from '../progress.js';
import type { BundleFile } from './manifest.js';
import type { BundleProblem } from './verify.js';

/**
 * The read-back of a bundle just written: every byte read again from the drive with O_DIRECT (lib/fs/direct-read.ts),
 * past the page cache, whose pages of the write would otherwise vouch for bytes the drive may not hold.
 */
export interface ReadBack {
  readonly problems: readonly BundleProblem[];
  /** False when the file system refused direct reads and the bytes came through the page cache. */
  readonly direct: boolean;
}

export const READ_BACK_LABEL = 'read back';

/** A range of an archive file, what it holds (for messages), and the sha256 of the bytes written there. */
export interface WrittenRange {
  readonly label: string;
  readonly offset: number;
  readonly length: number;
  readonly sha256: string;
}

/** A directory bundle: each file, found as a device's reader finds it (no links), read from the drive and compared. */
export async function readBackFiles(root: string, files: readonly BundleFile[], onProgress: ProgressListener): Promise<ReadBack> {
  const medium = new DirectoryMedium(root);
  const reader = new DirectFileReader();
  const progress = bundleProgress(READ_BACK_LABEL, files.reduce((sum, file) => sum + file.size, 0), files.length, onProgress);
  const problems: BundleProblem[] = [];
  let direct = true;
  for (const file of files) {
    try {
      const entry = await medium.stat(file.path);
      if (entry?.type !== 'file') {
        problems.push({ path: file.path, problem: 'missing' });
        continue;
      }
      const hash = createHash('sha256');
      const read = await reader.read(join(root, entry.path), (chunk) => {
        hash.update(chunk);
        progress.bytes(chunk.length);
      });
      direct &&= read.direct;
      const sha256 = hash.digest('hex');
      if (read.size !== file.size) problems.push({ path: file.path, problem: `${read.size} bytes on the drive, ${file.size} written` });
      else if (sha256 !== file.sha256) problems.push({ path: file.path, problem: `sha256 ${sha256} on the drive, ${file.sha256} written` });
    } catch (error) {
      problems.push({ path: file.path, problem: `unreadable: ${(error as Error).message}` });
    }
    progress.file();
  }
  return { problems, direct };
}

/** An archive bundle: the file read from the drive in one pass, each range compared with what was written there. */
export async function readBackRanges(path: string, written: readonly WrittenRange[], onProgress: ProgressListener): Promise<ReadBack> {
  const ranges = [...written].sort((a, b) => a.offset - b.offset);
  const size = ranges.reduce((end, range) => Math.max(end, range.offset + range.length), 0);
  const labels = new Set(ranges.map((range) => range.label));
  const progress = bundleProgress(READ_BACK_LABEL, size, labels.size, onProgress);
  const bad = new Set<string>();
  let index = 0;
  let position = 0;
  let hash: Hash = createHash('sha256');
  const closeRange = () => {
    const range = ranges[index]!;
    if (hash.digest('hex') !== range.sha256) bad.add(range.label);
    if (ranges[index + 1]?.label !== range.label) progress.file();
    index++;
    hash = createHash('sha256');
  };
  let read: { size: number; direct: boolean };
  try {
    read = await new DirectFileReader().read(path, (chunk) => {
      for (let offset = 0; offset < chunk.length && index < ranges.length;) {
        const range = ranges[index]!;
        const take = Math.min(chunk.length - offset, range.offset + range.length - position);
        hash.update(chunk.subarray(offset, offset + take));
        offset += take;
        position += take;
        if (position === range.offset + range.length) closeRange();
      }
      progress.bytes(chunk.length);
    });
  } catch (error) {
    return { problems: [{ path, problem: `unreadable: ${(error as Error).message}` }], direct: true };
  }
  const problems = [...bad].map((label) => ({ path: label, problem: 'its bytes on the drive differ from those written' }));
  if (read.size !== size) problems.push({ path, problem: `${read.size} bytes on the drive, ${size} written` });
  return { problems, direct: read.direct };
}

/** Whole-bundle progress of a phase (writing, reading back): bytes and files done of the totals; the renderer derives rate and time left. */
export function bundleProgress(label: string, totalBytes: number, totalFiles: number, onProgress: ProgressListener) {
  let done = 0;
  let files = 0;
  const emit = () => onProgress({ type: 'bytes', label, done, total: totalBytes, files: { done: files, total: totalFiles } });
  return {
    bytes: (count: number) => {
      done += count;
      emit();
    },
    file: () => {
      files++;
      if (files === totalFiles) emit();
    },
  };
}
