/**
 * Unsigned input, bounded before it is trusted (issue 17, item 4): `check` on hostile media made by
 * fixtures/hostile.ts, by this tree's CLI and, with `--baseline <commit>`, by that commit's (compiled from
 * `git archive` into a scratch directory), in the same run. Each row: exit code, wall time, peak RSS.
 * Run: `npx tsx bench/hostile-input.ts [--entries 300000] [--targets-size 126M] [--baseline 5c7d198] [--only NAME]...`.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleApps } from '../fixtures/apps/index.js';
import { writeDeviceConfig } from '../fixtures/device/sota-toml.js';
import { buildFactory, scenarios } from '../fixtures/factory.js';
import { damageZipEntry, deeplyNestedJson, padTargets, writeCrowdedTar, writeCrowdedZip } from '../fixtures/hostile.js';
import { formatBytes, formatRatio, formatSeconds, measure, parseSize, prepareCli, printTable, repoRoot, runQuiet, withScratch, type CliCommand, type Measurement } from './lib.js';

interface HostileCase {
  readonly name: string;
  /** `--src-dir` for `check`. */
  readonly medium: string;
  readonly config: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    entries: { type: 'string', default: '300000' }, 'targets-size': { type: 'string', default: '126M' }, baseline: { type: 'string' },
    only: { type: 'string', multiple: true },
  } });
  const entries = Number(values.entries);
  const targetsSize = parseSize(values['targets-size']!);
  await withScratch('fioup-bench-hostile-', async (scratch) => {
    const tools: { name: string; cli: CliCommand }[] = [{ name: 'this tree', cli: await prepareCli(join(scratch, 'dist'), 'compiled') }];
    if (values.baseline) tools.push({ name: values.baseline, cli: await baselineCli(values.baseline, join(scratch, 'baseline')) });
    console.log('generating the hostile media...');
    const cases = (await hostileCases(scratch, entries, targetsSize)).filter((item) => !values.only || values.only.some((only) => item.name.includes(only)));
    const rows: string[][] = [];
    for (const item of cases) {
      const results: Measurement[] = [];
      for (const tool of tools) {
        const result = await measure(tool.cli('check', '--config', item.config, '--src-dir', item.medium));
        results.push(result);
        const ratio = results.length > 1 ? formatRatio(results[0]!.wallMs / result.wallMs) : '';
        rows.push([item.name, tool.name, String(result.exitCode), formatSeconds(result.wallMs), formatBytes(result.peakRssBytes), ratio, firstLine(result.stderr)]);
      }
    }
    printTable('check on hostile media', ['medium', 'tool', 'exit', 'wall', 'peak RSS', 'this tree / it', 'message'], rows);
  });
}

async function hostileCases(scratch: string, entries: number, targetsSize: number): Promise<HostileCase[]> {
  const build = (name: string, versionOnly: boolean) => buildFactory(join(scratch, name), scenarios.basic({
    seed: 'bench-hostile',
    targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('hostile', 1)] }],
    ...(versionOnly ? { tuf: { rootVersion: 4, rotations: { root: [3] }, snapshotDescribesTargets: 'version' as const } } : {}),
  }));
  const [full, versionOnly] = await Promise.all([build('factory', false), build('factory-version-only', true)]);
  const config = await writeDeviceConfig(scratch, full);
  const cases: HostileCase[] = [];
  const crowded = join(scratch, 'crowded.tar');
  await writeCrowdedTar(crowded, full.dirs.medium, entries);
  cases.push({ name: `tar, ${entries} entries`, medium: crowded, config });
  const crowdedZip = join(scratch, 'crowded.zip');
  writeCrowdedZip(crowdedZip, full.dirs.medium, entries);
  cases.push({ name: `zip, ${entries} entries`, medium: crowdedZip, config });
  const versionOnlyConfig = await writeDeviceConfig(join(scratch, 'device-version'), versionOnly);
  for (const [factory, says, deviceConfig] of [[versionOnly, 'version', versionOnlyConfig], [full, 'length', config]] as const) {
    const medium = join(scratch, `padded-${says}`);
    await cp(factory.dirs.medium, medium, { recursive: true });
    await padTargets(join(medium, 'tuf'), targetsSize);
    cases.push({ name: `unsigned ${formatBytes(targetsSize)} targets.json, snapshot names its ${says}`, medium, config: deviceConfig });
  }
  const nested = join(scratch, 'nested');
  await cp(full.dirs.medium, nested, { recursive: true });
  await writeFile(join(nested, 'tuf', 'timestamp.json'), deeplyNestedJson(32_000));
  cases.push({ name: 'timestamp.json nested 32,000 deep', medium: nested, config });
  for (const damage of ['crc', 'local-header'] as const) {
    const zip = join(scratch, `damaged-${damage}.zip`);
    writeCrowdedZip(zip, full.dirs.medium, 0);
    await damageZipEntry(zip, 'tuf/timestamp.json', damage);
    cases.push({ name: `zip, timestamp.json with a bad ${damage === 'crc' ? 'CRC' : 'local header'}`, medium: zip, config });
  }
  return cases;
}

/** The CLI of another commit, compiled from `git archive` with this tree's node_modules. */
async function baselineCli(commit: string, directory: string): Promise<CliCommand> {
  await mkdir(directory, { recursive: true });
  execFileSync('bash', ['-c', `git -C "${repoRoot}" archive "${commit}" | tar -x -C "${directory}"`]);
  await symlink(join(repoRoot, 'node_modules'), join(directory, 'node_modules'));
  await runQuiet([process.execPath, join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(directory, 'tsconfig.build.json')]);
  await rm(join(directory, 'test'), { recursive: true, force: true });
  return (...args) => [process.execPath, join(directory, 'dist/cli/main.js'), ...args];
}

function firstLine(text: string): string {
  const line = text.trim().split('\n').find((candidate) => candidate.trim() !== '') ?? '';
  return line.length > 90 ? `${line.slice(0, 87)}...` : line;
}

await main();
