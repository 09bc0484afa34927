/**
 * `npm run package [-- --arch x64 --arch arm64 ...] [--out dist/package] [--no-deb]`: the self-contained
 * executables `fioup-offline-linux-{x64,arm64,armv7l}` (Node's Single Executable Applications, on the pinned Node
 * runtimes of scripts/package/node-runtimes.ts) and `fioup-offline_<version>_{amd64,arm64}.deb`. Runtimes and
 * executables are cached (FIOUP_PACKAGE_CACHE, default /var/cache/fioup-offline-test/package): a rerun whose
 * bundled script did not change copies the executables it made before. Needs qemu-user-static and the cross C
 * libraries for the other architectures (scripts/provision.sh installs them), and dpkg-deb.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { gitCommit, type BuildInfo } from '../lib/build-info.js';
import { bundleCli } from './package/bundle.js';
import { buildDeb } from './package/deb.js';
import { renderManPage } from './package/man-page.js';
import { executableName, NODE_RUNTIMES, packageCache, TARGET_ARCHES, type NodeRuntime, type TargetArch } from './package/node-runtimes.js';
import { makeExecutable } from './package/sea.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    arch: { type: 'string', multiple: true }, out: { type: 'string', default: join(repo, 'dist/package') }, 'no-deb': { type: 'boolean', default: false },
  } });
  const arches = (values.arch ?? TARGET_ARCHES) as TargetArch[];
  const unknown = arches.filter((arch) => !TARGET_ARCHES.includes(arch));
  if (unknown.length) throw new RangeError(`unknown architecture ${unknown.join(', ')}: ${TARGET_ARCHES.join(', ')}`);
  const out = values.out;
  const work = join(out, 'work');
  await mkdir(work, { recursive: true });

  const packageJson = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
  const info: BuildInfo = { version: packageJson.version, commit: gitCommit(repo) };
  const script = join(work, 'fioup-offline.cjs');
  await bundleCli(join(repo, 'cli/main.ts'), script, info);
  log(`bundled ${info.version} (commit ${info.commit})`);

  // Two at a time: postject works on one core for a quarter of a minute per executable.
  const pending = [...arches];
  const worker = async () => {
    for (let arch = pending.shift(); arch; arch = pending.shift()) await cachedExecutable(NODE_RUNTIMES[arch], script, work, join(out, executableName(arch)));
  };
  await Promise.all([worker(), worker()]);

  if (values['no-deb']) return;
  const date = await commitDate();
  const manPage = await renderManPage(info, date.toISOString().slice(0, 10));
  const { stdout: bashCompletion } = await run(process.execPath, [script, 'completion']);
  for (const arch of arches) {
    const { debianArch } = NODE_RUNTIMES[arch];
    if (!debianArch) continue;
    const deb = await buildDeb({ info, debianArch, executable: join(out, executableName(arch)), manPage, bashCompletion, packagingDir: join(repo, 'packaging'), date }, work, out);
    log(`wrote ${deb}`);
  }
}

/**
 * The executable for the bundled script, from the cache when the same script was made into one for the same
 * runtime before; the cache keeps one executable per architecture.
 */
async function cachedExecutable(runtime: NodeRuntime, script: string, work: string, output: string): Promise<void> {
  const key = createHash('sha256').update(await readFile(script)).update(`${runtime.npmPackage}@${runtime.version}`).digest('hex').slice(0, 16);
  const cacheDir = join(packageCache(), 'executables');
  const cached = join(cacheDir, `${runtime.arch}-${key}`);
  if (!(await access(cached).then(() => true, () => false))) {
    const started = Date.now();
    await mkdir(cacheDir, { recursive: true });
    for (const old of (await readdir(cacheDir)).filter((name) => name.startsWith(`${runtime.arch}-`))) await rm(join(cacheDir, old), { force: true });
    await makeExecutable(runtime, script, work, cached, join(repo, 'node_modules/postject/dist/cli.js'));
    log(`made ${executableName(runtime.arch)} on node ${runtime.version} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  await copyFile(cached, output);
  await run('chmod', ['755', output]);
}

/** The commit's date, so that the man page and changelog of one commit are the same whenever they are built. */
async function commitDate(): Promise<Date> {
  const { stdout } = await run('git', ['-C', repo, 'log', '-1', '--format=%cI']).catch(() => ({ stdout: '' }));
  return stdout.trim() ? new Date(stdout.trim()) : new Date();
}

function log(message: string): void {
  process.stderr.write(`[package] ${message}\n`);
}

await main();
