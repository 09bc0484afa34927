/**
 * `npm run bench [-- --size 256M] [--runs N] [--from-source | --executable] [--parallel 1,2,3,4] [--cores 1] [--only NAME]...`: every benchmark, one after the
 * other, each in its own process (so that one's memory stays its own). `--size`, `--runs`, `--from-source` and `--executable` go
 * to the install and bundle-create benchmarks, whose default sizes are 1 GiB and 2 GiB; tuf-verify and startup
 * (the self-contained executable against node dist/cli/main.js) run with their own defaults.
 * A failing benchmark does not stop the others; the exit status says whether all of them ran.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './lib.js';

interface Benchmark {
  name: string;
  file: string;
  takesOptions: boolean;
}

const BENCHMARKS: Benchmark[] = [
  { name: 'install', file: 'bench/install.ts', takesOptions: true },
  { name: 'bundle-create', file: 'bench/bundle-create.ts', takesOptions: true },
  { name: 'tuf-verify', file: 'bench/tuf-verify.ts', takesOptions: false },
  { name: 'startup', file: 'bench/startup.ts', takesOptions: false },
];

function runBenchmark(file: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, file), ...args], { cwd: repoRoot, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    size: { type: 'string' }, runs: { type: 'string' }, 'from-source': { type: 'boolean', default: false }, executable: { type: 'boolean', default: false }, only: { type: 'string', multiple: true },
    parallel: { type: 'string' }, cores: { type: 'string' },
  } });
  const unknown = (values.only ?? []).filter((name) => !BENCHMARKS.some((benchmark) => benchmark.name === name));
  if (unknown.length > 0) throw new RangeError(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const options = [
    ...(values.size ? ['--size', values.size] : []), ...(values.runs ? ['--runs', values.runs] : []), ...(values['from-source'] ? ['--from-source'] : []), ...(values.executable ? ['--executable'] : []),
    ...(values.parallel ? ['--parallel', values.parallel] : []), ...(values.cores ? ['--cores', values.cores] : []),
  ];
  const selected = BENCHMARKS.filter((benchmark) => !values.only || values.only.includes(benchmark.name));

  const failed: string[] = [];
  for (const benchmark of selected) {
    if (!existsSync(join(repoRoot, benchmark.file))) {
      console.log(`\n== ${benchmark.name}: ${benchmark.file} does not exist, skipped`);
      continue;
    }
    console.log(`\n== ${benchmark.name}`);
    const code = await runBenchmark(benchmark.file, benchmark.takesOptions ? options : []);
    if (code !== 0) failed.push(`${benchmark.name} (exit ${code})`);
  }
  if (failed.length > 0) {
    console.error(`\nfailed: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

await main();
