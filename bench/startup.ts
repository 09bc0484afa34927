/**
 * Start-up: `--version`, `--help`, and `check` on a small medium, through the self-contained x64 executable
 * (dist/package/fioup-offline-linux-x64, built here if missing) and through `node dist/cli/main.js`, with `node -e 0`
 * as the floor any Node program pays and an executable made the same way from a one-line script as the floor of a
 * self-contained executable. `--runs N` (default 10): the table shows the median wall time and the largest peak RSS.
 * Aims: the executable's `--help` within 0.3 s, and (issue 16) within 1.5x `node -e 0`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleApps } from '../fixtures/apps/index.js';
import { writeDeviceConfig } from '../fixtures/device/sota-toml.js';
import { buildFactory, scenarios } from '../fixtures/factory.js';
import { NODE_RUNTIMES } from '../scripts/package/node-runtimes.js';
import { makeExecutable } from '../scripts/package/sea.js';
import { aimLine, formatBytes, formatRatio, formatSeconds, measureOk, prepareCli, prepareExecutable, printTable, repoRoot, summarize, withScratch, type Summary } from './lib.js';

const HELP_AIM_MS = 300;
const HELP_AIM_RATIO = 1.5;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  const runs = Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError('--runs must be a positive integer');
  await withScratch('fioup-bench-startup-', async (scratch) => {
    console.log('building the x64 executable (cached when the bundled script did not change)...');
    const binary = await prepareExecutable();
    const emptyExecutable = await oneLineExecutable(scratch);
    const dist = await prepareCli(join(scratch, 'dist'), 'compiled');
    const config = await smallDevice(scratch);

    const tools: { name: string; argv: (...args: string[]) => string[] }[] = [
      { name: 'executable', argv: (...args) => [binary, ...args] },
      { name: 'node dist/cli/main.js', argv: dist },
    ];
    const cases = [
      { name: '--version', args: ['--version'], ok: [0] },
      { name: '--help', args: ['--help'], ok: [0] },
      { name: 'check (small medium)', args: ['check', '--config', config.file, '--src-dir', config.medium], ok: [16] },
    ];
    const floor = summarize(await repeat(runs, () => measureOk([process.execPath, '-e', '0'])));
    const emptyFloor = summarize(await repeat(runs, () => measureOk([emptyExecutable])));
    const rows: string[][] = [
      ['node -e 0 (floor)', '', formatSeconds(floor.wallMs), '', formatBytes(floor.peakRssBytes)],
      ['executable of a one-line script', '', formatSeconds(emptyFloor.wallMs), '', formatBytes(emptyFloor.peakRssBytes)],
    ];
    const results = new Map<string, Summary>();
    for (const { name, args, ok } of cases) {
      for (const tool of tools) {
        const summary = summarize(await repeat(runs, () => measureOk(tool.argv(...args), ok)));
        results.set(`${tool.name} ${name}`, summary);
        const baseline = results.get(`executable ${name}`)!;
        rows.push([tool.name, name, formatSeconds(summary.wallMs), formatRatio(summary.wallMs / baseline.wallMs), formatBytes(summary.peakRssBytes)]);
      }
    }
    printTable(`start-up, median of ${runs} runs`, ['tool', 'command', 'wall', 'vs executable', 'peak RSS'], rows);
    const help = results.get('executable --help')!.wallMs;
    console.log('measured without NODE_EXTRA_CA_CERTS (which devices do not set; Node parses that bundle at every start).');
    console.log(aimLine(`executable --help <= ${HELP_AIM_MS / 1000} s`, help <= HELP_AIM_MS, `${formatSeconds(help)}; node -e 0 takes ${formatSeconds(floor.wallMs)} here`));
    console.log(aimLine(`executable --help <= ${HELP_AIM_RATIO}x node -e 0`, help <= HELP_AIM_RATIO * floor.wallMs, formatRatio(help / floor.wallMs)));
  });
}

/** A self-contained executable made as the real one is, from a script that does nothing: what any such executable pays. */
async function oneLineExecutable(scratch: string): Promise<string> {
  const script = join(scratch, 'nothing.cjs');
  await writeFile(script, 'process.exitCode = 0;\n');
  const output = join(scratch, 'nothing');
  await makeExecutable(NODE_RUNTIMES.x64, script, join(scratch, 'sea'), output, join(repoRoot, 'node_modules/postject/dist/cli.js'));
  return output;
}

async function repeat<T>(count: number, work: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < count; index++) results.push(await work());
  return results;
}

/** A one-app factory's medium and a device configured for it. */
async function smallDevice(scratch: string): Promise<{ file: string; medium: string }> {
  const factory = await buildFactory(join(scratch, 'factory'), scenarios.basic({
    seed: 'startup',
    targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('startup', 1)] }],
  }));
  const file = await writeDeviceConfig(join(scratch, 'device'), factory);
  return { file, medium: factory.dirs.medium };
}

await main();
