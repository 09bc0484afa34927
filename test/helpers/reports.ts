import { readdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { repoRoot } from './cli.js';

const schema = JSON.parse(await readFile(join(repoRoot, 'docs/report.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

/** Fails with every schema violation when the report does not match docs/report.schema.json. */
export function validateReport(report: unknown): void {
  if (!validate(report)) throw new Error(`the report does not match docs/report.schema.json:\n${JSON.stringify(validate.errors, null, 2)}`);
}

/** The host's part of the report directory name, as the writer spells it. */
export function hostDirectoryPart(): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The reports of one device on a drive: their names without extension, oldest first (every one has its .txt). */
export async function reportFiles(root: string, deviceDirectory: string): Promise<string[]> {
  const names = await readdir(join(root, 'fioup-offline-reports', deviceDirectory)).catch((): string[] => []);
  const stems = names.filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)).sort();
  for (const stem of stems) if (!names.includes(`${stem}.txt`)) throw new Error(`${stem}.json has no ${stem}.txt beside it`);
  return stems;
}

export async function readReport(root: string, deviceDirectory: string, stem: string): Promise<Record<string, any>> {
  return JSON.parse(await readFile(join(root, 'fioup-offline-reports', deviceDirectory, `${stem}.json`), 'utf8')) as Record<string, any>;
}
