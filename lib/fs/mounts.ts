import { readFile } from 'node:fs/promises';

export interface MountEntry {
  readonly source: string;
  readonly target: string;
}

/** The mount table (`/proc/mounts` format: fields separated by spaces, spaces inside fields escaped as octal). */
export async function readMounts(mountTable = '/proc/mounts'): Promise<MountEntry[]> {
  return parseMountTable(await readFile(mountTable, 'utf8'));
}

export function parseMountTable(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source = '', target = ''] = line.split(' ').map(unescapeMountField);
      return { source, target };
    });
}

/** The mount point of the file system that holds `path` (a real path): the longest mount target above it. */
export function mountContaining(path: string, mounts: readonly MountEntry[]): string | undefined {
  const above = mounts.map((mount) => mount.target).filter((target) => target === '/' || path === target || path.startsWith(`${target}/`));
  return above.sort((a, b) => b.length - a.length)[0];
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
