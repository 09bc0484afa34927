import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

/** A systemd unit file of packaging/systemd, as `key -> values` per section (repeated keys keep every value). */
export async function readUnit(name: string): Promise<Map<string, string[]>> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of (await readFile(join(repoRoot, 'packaging/systemd', name), 'utf8')).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const [key, ...value] = line.split('=');
    const name = `${section}.${key}`;
    keys.set(name, [...(keys.get(name) ?? []), value.join('=')]);
  }
  return keys;
}

/**
 * The fioup-offline arguments of a unit's ExecStart, with the instance name put in for `%i`: what the unit runs,
 * for a test to run the same.
 */
export async function unitCommandArguments(name: string, instance = ''): Promise<string[]> {
  const [execStart] = (await readUnit(name)).get('Service.ExecStart') ?? [];
  const [program, ...args] = execStart!.split(/\s+/);
  if (program !== '/usr/bin/fioup-offline') throw new Error(`${name} runs ${program}, not /usr/bin/fioup-offline`);
  return args.map((arg) => arg.replaceAll('%i', instance));
}
