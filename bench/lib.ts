/**
 * Shared by the benchmarks: running a command while measuring it, sizes, and the printed tables.
 * Benchmarks report; they never assert timings.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildFactory, scenarios, type FactoryBuild } from '../fixtures/factory.js';
import { formatBytes } from '../lib/format.js';
import { executableName } from '../scripts/package/node-runtimes.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Where benchmarks put their generated data: a disk, not a tmpfs, and cleaned up by each benchmark. */
export const BENCH_DATA_ROOT = '/var/tmp';

/** The argv that runs the CLI with the given arguments. */
export type CliCommand = (...args: string[]) => string[];

/**
 * How a benchmark runs the CLI: `compiled`, by `tsc -p tsconfig.build.json` into `outDir` (with a copy of
 * package.json and a link to node_modules beside it, the tree left untouched); `executable`, the self-contained x64
 * executable devices run (built if its bundled script changed); `source`, cli/main.ts through tsx as the tests run
 * it, which costs about 30 MB of RSS and a second or more at start-up.
 */
export type CliKind = 'compiled' | 'executable' | 'source';

export const describeCli = (kind: CliKind): string =>
  ({ compiled: 'node dist/cli/main.js', executable: 'the x64 executable', source: 'CLI from source via tsx' })[kind];

export async function prepareCli(outDir: string, kind: CliKind): Promise<CliCommand> {
  if (kind === 'source') return (...args) => [process.execPath, '--import', 'tsx', join(repoRoot, 'cli/main.ts'), ...args];
  if (kind === 'executable') {
    const binary = await prepareExecutable();
    return (...args) => [binary, ...args];
  }
  await runQuiet([process.execPath, join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir]);
  await copyFile(join(repoRoot, 'package.json'), join(outDir, 'package.json'));
  await symlink(join(repoRoot, 'node_modules'), join(outDir, 'node_modules'));
  return (...args) => [process.execPath, join(outDir, 'cli/main.js'), ...args];
}

/** The x64 executable, dist/package/fioup-offline-linux-x64 (scripts/package.ts caches it while its script is unchanged). */
export async function prepareExecutable(): Promise<string> {
  await runQuiet([process.execPath, join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'scripts/package.ts'), '--arch', 'x64', '--no-deb']);
  return join(repoRoot, 'dist/package', executableName('x64'));
}

export interface Measurement {
  wallMs: number;
  /** Largest RSS of any process of the command (getrusage of the children, through /usr/bin/time). */
  peakRssBytes: number;
  /** `rchar` of the command and every descendant: bytes asked of read(2)-like calls, page cache or not. */
  readBytes: number;
  /** `wchar`: bytes handed to write(2)-like calls. */
  writeBytes: number;
  /** User + system CPU time of the command and every descendant it waited for (getrusage, through /usr/bin/time). */
  cpuMs: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment measured commands get: the bench's own, without NODE_EXTRA_CA_CERTS, which development and CI
 * machines often set (this one does) and devices do not: Node then parses that certificate bundle at every start,
 * ~70 ms here, for `node -e 0` as for every Node tool measured.
 */
const MEASURED_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'));

/**
 * Runs `argv` to completion and measures it (in MEASURED_ENV). The command runs under a bash that, once its child
 * is reaped, copies its own /proc/<pid>/io: the kernel folds a reaped child's I/O counters into its parent's, so
 * that file holds the whole process tree's reads, with nothing lost to polling between samples.
 */
export function measure(argv: readonly string[]): Promise<Measurement> {
  return withScratch('fioup-bench-measure-', async (scratch) => {
    const ioFile = join(scratch, 'io');
    const rssFile = join(scratch, 'rss');
    const script = '"${@:2}"; status=$?; cat /proc/$$/io > "$1"; exit $status';
    const started = performance.now();
    const { exitCode, stdout, stderr } = await run(['/usr/bin/time', '-f', '%M %U %S', '-o', rssFile, 'bash', '-c', script, 'bash', ioFile, ...argv], MEASURED_ENV);
    const wallMs = performance.now() - started;
    const io = parseProcIo(await readFile(ioFile, 'utf8'));
    // The last line: /usr/bin/time writes "Command exited with non-zero status N" before it when the command fails.
    const [peakRssKib, userSeconds, systemSeconds] = (await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
    return {
      wallMs, peakRssBytes: peakRssKib * 1024, readBytes: io.rchar ?? 0, writeBytes: io.wchar ?? 0, cpuMs: (userSeconds + systemSeconds) * 1000, exitCode, stdout, stderr,
    };
  });
}

/** Like `measure`, but a command that exits with a status outside `okCodes` is an error carrying its stderr. */
export async function measureOk(argv: readonly string[], okCodes: readonly number[] = [0]): Promise<Measurement> {
  const measurement = await measure(argv);
  if (!okCodes.includes(measurement.exitCode)) {
    throw new Error(`${argv.join(' ')} exited ${measurement.exitCode}: ${measurement.stderr.trim() || measurement.stdout.trim()}`);
  }
  return measurement;
}

/**
 * What a CLI costs before it touches its input (node, modules, config): `argv` must be a variant of the measured
 * command that fails at once for want of input. Its `readBytes` are subtracted from the real runs' reads.
 */
export async function measureStartup(argv: readonly string[]): Promise<Measurement> {
  const failed = await measure(argv);
  if (failed.exitCode === 0) throw new Error(`${argv.join(' ')} was meant to fail at once, and succeeded`);
  return failed;
}

/** Runs of one tool in a table: median wall time, bytes and CPU, largest peak RSS; reads less `startupReads`. */
export interface Summary {
  wallMs: number;
  readBytes: number;
  writeBytes: number;
  cpuMs: number;
  peakRssBytes: number;
}

export function summarize(runs: readonly Measurement[], startupReads = 0): Summary {
  return {
    wallMs: median(runs.map((run) => run.wallMs)),
    readBytes: median(runs.map((run) => run.readBytes)) - startupReads,
    writeBytes: median(runs.map((run) => run.writeBytes)),
    cpuMs: median(runs.map((run) => run.cpuMs)),
    peakRssBytes: Math.max(...runs.map((run) => run.peakRssBytes)),
  };
}

function parseProcIo(text: string): Record<string, number> {
  return Object.fromEntries(text.trim().split('\n').map((line) => {
    const [key, value] = line.split(':');
    return [key!.trim(), Number(value)];
  }));
}

function run(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

/** Runs a setup or clean-up command (not measured); a failure is an error carrying its stderr. */
export async function runQuiet(argv: readonly string[]): Promise<string> {
  const result = await run(argv);
  if (result.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${result.exitCode}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `1073741824`, `256M`, `1G`, `512MiB`, `64k`: binary units. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new RangeError(`not a size: '${text}' (try 256M or 1G)`);
  const exponent = ' kmgt'.indexOf(match[2]!.toLowerCase() || ' ');
  const bytes = Math.round(Number(match[1]) * 1024 ** exponent);
  if (bytes < 1) throw new RangeError(`size must be positive: '${text}'`);
  return bytes;
}

export interface BenchOptions {
  /** Bytes of image layers to generate. */
  size: number;
  /** Cold runs of each tool; tables show the median wall time. */
  runs: number;
  cli: CliKind;
}

/**
 * `--size 256M` (default `defaultSize`), `--runs N` (default 1), and `--executable` or `--from-source` (default: the
 * compiled CLI) from the command line.
 */
export function benchOptions(defaultSize: string): BenchOptions {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: defaultSize }, runs: { type: 'string', default: '1' },
      'from-source': { type: 'boolean', default: false }, executable: { type: 'boolean', default: false },
    },
    // A benchmark may take options of its own (bench/install.ts: --parallel, --cores).
    strict: false,
  });
  const runs = Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError('--runs must be a positive integer');
  if (values['from-source'] && values.executable) throw new RangeError('--from-source or --executable, not both');
  const cli: CliKind = values['from-source'] ? 'source' : values.executable ? 'executable' : 'compiled';
  return { size: parseSize(String(values.size)), runs, cli };
}

const APPS = 4;
const IMAGES_PER_APP = 2;
const LAYERS_PER_IMAGE = 4;

/**
 * A one-target factory whose medium (fioctl's offline-update layout) carries about `size` bytes of incompressible
 * image layers: 4 apps of 2 images of 4 equal filler layers, on top of the small shared busybox layer.
 */
export async function buildSizedFactory(outDir: string, size: number, seed: string): Promise<FactoryBuild> {
  const layerCount = APPS * IMAGES_PER_APP * LAYERS_PER_IMAGE;
  const layerSize = Math.max(1, Math.floor(size / layerCount));
  console.log(`generating ${APPS} apps x ${IMAGES_PER_APP} images x ${LAYERS_PER_IMAGE} layers of ${formatBytes(layerSize)} (${formatBytes(layerSize * layerCount)})...`);
  return buildFactory(outDir, scenarios.scale({ targets: 1, apps: APPS, imagesPerApp: IMAGES_PER_APP, layersPerImage: LAYERS_PER_IMAGE, layerSize }, { seed }));
}

/** Flushes dirty pages, so that a run does not pay for the writes of the one before. */
export async function flushWrites(): Promise<void> {
  await runQuiet(['sync']);
}

/** Sum of the sizes of every regular file under `dir`. */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const formatSeconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
export const formatRatio = (value: number): string => `${value.toFixed(2)}x`;
/** One line of the aims printed under a table. */
export const aimLine = (aim: string, met: boolean, detail: string): string => `aim ${aim}: ${met ? 'met' : 'MISSED'} (${detail})`;
export { formatBytes };

/** Prints a titled, column-aligned table; the first column is left-aligned, the others right-aligned. */
export function printTable(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

/** Runs `body` in a fresh directory under BENCH_DATA_ROOT and removes it afterwards, whatever happens. */
export async function withScratch<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(BENCH_DATA_ROOT, prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
