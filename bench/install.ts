/**
 * Issue 4: `fioup-offline install` of ~1 GiB of app images against the private dockerd, beside `docker load` of
 * docker-save tars of the same images (uncompressed layers), `docker load` of tars holding the very bytes
 * fioup-offline sends (gzip layers), those tars POSTed by `curl` (dockerd's own floor; plain, and hashed on the way),
 * and `skopeo copy` + `docker load`, each from a cold image store, with the client's and dockerd's CPU.
 * Run inside `npm run bench` (which provides DOCKER_HOST), or alone:
 * `bash scripts/with-engine.sh tsx bench/install.ts [--size 256M] [--runs N] [--from-source | --executable]`.
 */
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WrittenImageRef } from '../fixtures/apps/index.js';
import type { FactoryBuild } from '../fixtures/factory.js';
import { createTestDevice, removeTree } from '../test/helpers/device.js';
import {
  aimLine, benchOptions, buildSizedFactory, directorySize, flushWrites, formatBytes, formatRatio, formatSeconds, measureOk, measureStartup, prepareCli, describeCli,
  median, printTable, runQuiet, summarize, withScratch, type CliCommand, type Measurement,
} from './lib.js';

const AIM_TIME_RATIO = 0.9;
const AIM_PEAK_RSS = 150 * 1000 * 1000;

interface BenchImage {
  /** The image's OCI layout dir on the medium (its blobs are in the medium's shared blob dir). */
  layoutDir: string;
  /** The tag the baselines load it under. */
  tag: string;
  amd64: WrittenImageRef['platforms'][string];
}

/** Digests of the blobs a load of the image's amd64 manifest sends: manifest, config, layers. */
function amd64Blobs(image: BenchImage): string[] {
  return [image.amd64.manifestDigest, image.amd64.configDigest, ...image.amd64.layerDigests];
}

const blobEntry = (digest: string): string => `blobs/sha256/${digest.replace('sha256:', '')}`;
/** A blob's file in the medium's shared blob dir (`<apps>/blobs`). */
const blobFile = (blobsDir: string, digest: string): string => join(dirname(blobsDir), blobEntry(digest));

function imagesOf(factory: FactoryBuild): BenchImage[] {
  return factory.apps.flatMap((app) => app.images.map((image) => {
    const [repository] = image.ref.split('@') as [string];
    return {
      layoutDir: join(app.dir, 'images', repository, image.pinnedDigest.replace('sha256:', '')),
      tag: `bench/${repository.split('/').at(-1)}:load`,
      amd64: image.platforms.amd64!,
    };
  }));
}

/**
 * Bytes a single pass over the medium reads: every file once, plus a blob shared by several images (the
 * busybox base layer) once more for each further image, since each image is loaded by its own request.
 */
async function singlePassBytes(mediumSize: number, blobsDir: string, images: readonly BenchImage[]): Promise<number> {
  const sizes = new Map<string, number>();
  let perImage = 0;
  for (const digest of images.flatMap(amd64Blobs)) {
    if (!sizes.has(digest)) sizes.set(digest, (await stat(blobFile(blobsDir, digest))).size);
    perImage += sizes.get(digest)!;
  }
  const unique = [...sizes.values()].reduce((sum, size) => sum + size, 0);
  return mediumSize + perImage - unique;
}

/**
 * Writes with GNU tar the archive fioup-offline streams to `POST /images/load` for `image` (see imageTarChunks in
 * lib/docker/image-load.ts): `manifest.json`, `oci-layout`, `index.json`, then the manifest, config and gzip layer
 * blobs, hard-linked from the medium into `scratchDir`, which is removed afterwards.
 */
async function writeFioupLikeTar(image: BenchImage, blobsDir: string, scratchDir: string, archive: string): Promise<void> {
  const blobs = [...new Set(amd64Blobs(image))];
  const { manifestDigest, configDigest, layerDigests } = image.amd64;
  const manifestPath = blobFile(blobsDir, manifestDigest);
  const { mediaType } = JSON.parse(await readFile(manifestPath, 'utf8')) as { mediaType: string };
  const [, tagName] = image.tag.split(':') as [string, string];
  const entries: [string, unknown][] = [
    ['manifest.json', [{ Config: blobEntry(configDigest), RepoTags: [image.tag], Layers: layerDigests.map(blobEntry) }]],
    ['oci-layout', { imageLayoutVersion: '1.0.0' }],
    ['index.json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{
        mediaType, digest: manifestDigest, size: (await stat(manifestPath)).size,
        annotations: { 'io.containerd.image.name': image.tag, 'org.opencontainers.image.ref.name': tagName },
      }],
    }],
  ];
  await mkdir(join(scratchDir, 'blobs/sha256'), { recursive: true });
  try {
    for (const [name, value] of entries) await writeFile(join(scratchDir, name), JSON.stringify(value));
    for (const digest of blobs) await link(blobFile(blobsDir, digest), join(scratchDir, blobEntry(digest)));
    await runQuiet([
      'tar', '--create', '--file', archive, '--directory', scratchDir, '--format=gnu', '--blocking-factor=1',
      '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', '--mtime=@0',
      ...entries.map(([name]) => name), ...blobs.map(blobEntry),
    ]);
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}

async function removeAllImages(): Promise<void> {
  const ids = (await runQuiet(['docker', 'images', '-aq'])).split('\n').filter(Boolean);
  if (ids.length > 0) await runQuiet(['docker', 'rmi', '-f', ...new Set(ids)]);
  await runQuiet(['docker', 'image', 'prune', '-af']);
}

async function imageCount(): Promise<number> {
  return (await runQuiet(['docker', 'images', '-q'])).split('\n').filter(Boolean).length;
}

/** `docker load` of each archive in turn: the serial floor of one request per image. */
function dockerLoadEach(archives: readonly string[], pinned: (argv: string[]) => string[]): Promise<Measurement> {
  return measureOk(pinned(['bash', '-c', 'for archive; do docker load -q -i "$archive" >/dev/null || exit; done', 'bash', ...archives]));
}

/** A measurement with the CPU time dockerd spent during it. */
interface EngineMeasurement extends Measurement {
  dockerdCpuMs: number;
}

/** Starts from an empty image store with the previous run's writes on disk, measures `body`, checks its images. */
async function coldRun(expectedImages: number, body: () => Promise<Measurement>): Promise<EngineMeasurement> {
  await removeAllImages();
  await flushWrites();
  const pid = await dockerdPid();
  const cpuBefore = await dockerdCpuMs(pid);
  const measurement = await body();
  const dockerdCpu = (await dockerdCpuMs(pid)) - cpuBefore;
  const loaded = await imageCount();
  if (loaded !== expectedImages) throw new Error(`expected ${expectedImages} images in docker after the run, found ${loaded}`);
  return { ...measurement, dockerdCpuMs: dockerdCpu };
}

/** The bench dockerd's socket, from DOCKER_HOST (`unix://<path>`). */
const dockerSocket = (): string => (process.env.DOCKER_HOST ?? '').replace(/^unix:\/\//, '');

/** The bench's dockerd (scripts/with-engine.sh keeps its pid beside its socket). */
async function dockerdPid(): Promise<string> {
  return (await readFile(join(dirname(dockerSocket()), 'docker.pid'), 'utf8')).trim();
}

let clockTicksPerSecond: number | undefined;

/** User + system CPU of dockerd and of the children it reaped (unpigz...), from /proc/<pid>/stat (proc(5) fields 14-17). */
async function dockerdCpuMs(pid: string): Promise<number> {
  clockTicksPerSecond ??= Number((await runQuiet(['getconf', 'CLK_TCK'])).trim());
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ').at(-1)!.split(' ');
  return (fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) * 1000) / clockTicksPerSecond;
}

/**
 * dockerd's own floor for the same tars: `curl` POSTs them to /images/load, `parallel` at once, a client that only
 * copies bytes (no checks): how fast dockerd loads them when the client costs next to nothing. With `hash`, each tar
 * also goes through SHA-256 on the way (`tee` to `openssl dgst`, which uses the CPU's SHA instructions): the floor of
 * a client that verifies what it sends.
 */
function curlLoads(archives: readonly string[], parallel: number, pinned: (argv: string[]) => string[], hash = false): Promise<Measurement> {
  const post = (source: string) => `curl -sfS --unix-socket "$0" -X POST -H "Content-Type: application/x-tar" -H "Expect:" -T ${source} -o /dev/null "http://localhost/images/load?quiet=1"`;
  const load = hash ? `set -o pipefail; tee >(openssl dgst -sha256 >/dev/null) < "$1" | ${post('-')}` : post('"$1"');
  return measureOk(pinned(['bash', '-c', [
    'socket=$1; parallel=$2; shift 2',
    `printf "%s\\0" "$@" | xargs -0 -P "$parallel" -n 1 bash -c '${load}' "$socket"`,
  ].join('\n'), 'bash', dockerSocket(), String(parallel), ...archives]));
}

/** An install measured on a device of its own, so that each run starts with no pending update. */
async function installOnFreshDevice(
  cli: CliCommand, factory: FactoryBuild, medium: string, measureWith: (argv: string[]) => Promise<Measurement>, parallelLoads = 1,
): Promise<Measurement> {
  const device = await createTestDevice(factory);
  try {
    await device.configure('60-bench.toml', `[offline]\nparallel_loads = "${parallelLoads}"\n`);
    return await measureWith(cli('install', '--config', device.configDir, '--src-dir', medium));
  } finally {
    await removeTree(device.root);
  }
}

/** `--parallel 1,2,3,4`: the `[offline] parallel_loads` levels measured; `--cores 1`: dockerd and every tool on one core. */
function installOptions(): { parallel: number[]; cores: number | undefined } {
  const { values } = parseArgs({ options: { parallel: { type: 'string', default: '1,2,3,4' }, cores: { type: 'string' } }, strict: false });
  const parallel = String(values.parallel).split(',').map(Number);
  if (parallel.some((level) => !Number.isSafeInteger(level) || level < 1)) throw new RangeError('--parallel takes positive integers: 1,2,3');
  const cores = values.cores === undefined ? undefined : Number(values.cores);
  if (cores !== undefined && (!Number.isSafeInteger(cores) || cores < 1)) throw new RangeError('--cores takes a positive integer');
  return { parallel, cores };
}

/** The CPUs `0..cores-1`, for taskset. */
const cpuList = (cores: number): string => (cores === 1 ? '0' : `0-${cores - 1}`);

/** Pins the bench's dockerd (scripts/with-engine.sh keeps its pid beside its socket) to `cores`; returns the undo. */
async function pinDockerd(cores: number): Promise<() => Promise<void>> {
  const pid = await dockerdPid();
  const all = (await runQuiet(['taskset', '-pc', pid])).trim().split(': ').at(-1)!;
  await runQuiet(['taskset', '-apc', cpuList(cores), pid]);
  return async () => void (await runQuiet(['taskset', '-apc', all, pid]));
}

async function main(): Promise<void> {
  const { size, runs, cli: cliKind } = benchOptions('1G');
  const { parallel, cores } = installOptions();
  await withScratch('fioup-bench-install-', async (work) => {
    const cli = await prepareCli(join(work, 'dist'), cliKind);
    const factory = await buildSizedFactory(join(work, 'factory'), size, 'bench-install');
    const blobsDir = join(factory.dirs.apps, 'blobs');
    const images = imagesOf(factory);
    const archivesDir = join(work, 'archives');
    const fioupTarsDir = join(work, 'fioup-tars');
    const skopeoScratch = join(work, 'skopeo-scratch');
    const emptyMedium = join(work, 'empty-medium');
    await Promise.all([archivesDir, fioupTarsDir, skopeoScratch, emptyMedium].map((dir) => mkdir(dir)));
    console.log(`writing ${images.length} docker-archive tars with skopeo (not timed)...`);
    const archives: string[] = [];
    for (const [index, image] of images.entries()) {
      const archive = join(archivesDir, `${index}.tar`);
      await runQuiet(['skopeo', 'copy', '--quiet', '--src-shared-blob-dir', blobsDir, `oci:${image.layoutDir}`, `docker-archive:${archive}:${image.tag}`]);
      archives.push(archive);
    }
    console.log(`writing ${images.length} tars of the bytes fioup-offline sends with GNU tar (not timed)...`);
    const fioupTars: string[] = [];
    for (const [index, image] of images.entries()) {
      const archive = join(fioupTarsDir, `${index}.tar`);
      await writeFioupLikeTar(image, blobsDir, join(work, 'fioup-tar-scratch'), archive);
      fioupTars.push(archive);
    }
    const mediumSize = await directorySize(factory.dirs.medium);
    const archivesSize = await directorySize(archivesDir);
    const fioupTarsSize = await directorySize(fioupTarsDir);
    const singlePass = await singlePassBytes(mediumSize, blobsDir, images);

    const pinned = (argv: string[]) => (cores === undefined ? argv : ['taskset', '-c', cpuList(cores), ...argv]);
    const fioupAt = (level: number) => () => installOnFreshDevice(cli, factory, factory.dirs.medium, (argv) => measureOk(pinned(argv), [101]), level);
    const baselines = {
      dockerLoad: () => dockerLoadEach(archives, pinned),
      dockerLoadGzip: () => dockerLoadEach(fioupTars, pinned),
      skopeoThenLoad: () => measureOk(pinned(['bash', '-c', [
        'set -e; blobs=$1; tar=$2/image.tar; shift 2',
        'while [ $# -gt 0 ]; do skopeo copy --quiet --src-shared-blob-dir "$blobs" "oci:$1" "docker-archive:$tar:$2"; docker load -q -i "$tar" >/dev/null; rm -f "$tar"; shift 2; done',
      ].join('\n'), 'bash', blobsDir, skopeoScratch, ...images.flatMap((image) => [image.layoutDir, image.tag])])),
    };
    const unpin = cores === undefined ? async () => {} : await pinDockerd(cores);
    const fioupSamples = new Map(parallel.map((level) => [level, [] as EngineMeasurement[]]));
    const curlSamples = new Map(parallel.map((level) => [level, [] as EngineMeasurement[]]));
    const hashingCurlSamples = new Map(parallel.map((level) => [level, [] as EngineMeasurement[]]));
    const samples = { dockerLoad: [] as EngineMeasurement[], dockerLoadGzip: [] as EngineMeasurement[], skopeoThenLoad: [] as EngineMeasurement[] };
    let startup: Measurement;
    try {
      for (let run = 1; run <= runs; run++) {
        console.log(`run ${run}/${runs}: fioup-offline install and curl POSTs (plain and hashing) at ${parallel.join(', ')} load(s) at once, docker load (both tars), skopeo copy + docker load...`);
        for (const level of parallel) fioupSamples.get(level)!.push(await coldRun(images.length, fioupAt(level)));
        for (const level of parallel) curlSamples.get(level)!.push(await coldRun(images.length, () => curlLoads(fioupTars, level, pinned)));
        for (const level of parallel) hashingCurlSamples.get(level)!.push(await coldRun(images.length, () => curlLoads(fioupTars, level, pinned, true)));
        for (const name of ['dockerLoad', 'dockerLoadGzip', 'skopeoThenLoad'] as const) samples[name].push(await coldRun(images.length, baselines[name]));
      }
      await removeAllImages();
      startup = await installOnFreshDevice(cli, factory, emptyMedium, (argv) => measureStartup(pinned(argv)));
    } finally {
      await unpin();
    }

    const withEngine = (runsOf: readonly EngineMeasurement[], startupReads = 0) => ({
      ...summarize(runsOf, startupReads), dockerdCpuMs: median(runsOf.map((run) => run.dockerdCpuMs)),
    });
    const fioup = new Map([...fioupSamples].map(([level, runsOf]) => [level, withEngine(runsOf, startup.readBytes)]));
    const dockerLoad = withEngine(samples.dockerLoad);
    const dockerLoadGzip = withEngine(samples.dockerLoadGzip);
    const row = (name: string, s: ReturnType<typeof withEngine>, input: number) => [
      name, formatSeconds(s.wallMs), formatRatio(s.wallMs / dockerLoad.wallMs), formatRatio(s.wallMs / dockerLoadGzip.wallMs),
      formatSeconds(s.cpuMs), formatSeconds(s.dockerdCpuMs), formatBytes(s.readBytes), formatBytes(input), formatRatio(s.readBytes / input), formatBytes(s.peakRssBytes),
    ];
    printTable(
      `install of ${images.length} images from a ${formatBytes(mediumSize)} medium (${describeCli(cliKind)}; ` +
        `median of ${runs} cold run(s); ${process.env.FIOUP_TEST_ENGINE ?? 'docker'}, storage ${process.env.FIOUP_TEST_STORAGE_DRIVER ?? '?'}; ` +
        `${cores === undefined ? `${availableParallelism()} cores` : `dockerd and the tools on ${cores} core(s)`})`,
      ['tool', 'wall', 'vs docker load', 'vs load of same bytes', 'client CPU', 'dockerd CPU', 'bytes read', 'input', 'read / input', 'peak RSS (client)'],
      [
        ...[...fioup].map(([level, summary]) => row(`fioup-offline install, ${level} load(s) at once`, summary, singlePass)),
        row('docker load (docker-save tars)', dockerLoad, archivesSize),
        row("docker load (fioup-offline's gzip tars)", dockerLoadGzip, fioupTarsSize),
        ...[...curlSamples].map(([level, runsOf]) => row(`dockerd alone: curl POSTs of those tars, ${level} at once`, withEngine(runsOf), fioupTarsSize)),
        ...[...hashingCurlSamples].map(([level, runsOf]) => row(`the same, each tar hashed on the way, ${level} at once`, withEngine(runsOf), fioupTarsSize)),
        row('skopeo copy + docker load', withEngine(samples.skopeoThenLoad), archivesSize),
        ['fioup-offline start-up only', formatSeconds(startup.wallMs), '', '', formatSeconds(startup.cpuMs), '', formatBytes(startup.readBytes), '', '', formatBytes(startup.peakRssBytes)],
      ],
    );
    const [bestLevel, best] = [...fioup].reduce((a, b) => (b[1].wallMs < a[1].wallMs ? b : a));
    console.log([
      `input of fioup: the medium (${formatBytes(mediumSize)}) plus ${formatBytes(singlePass - mediumSize)} of blobs shared by several images, ` +
        're-read for each (one load request per image, as docker load of per-image tars does).',
      'fioup bytes read exclude the start-up reads (an install from an empty medium, which fails at once).',
      'peak RSS: the largest process of the client side (dockerd excluded for every tool); client CPU: user + system of the client side.',
      'dockerd alone: a client that only copies the bytes (curl), the floor of a load when the client costs next to nothing;',
      'hashed on the way: tee to openssl dgst -sha256 as well (its reads of the pipe count as reads), the floor of a client that verifies.',
      "docker-save tars hold uncompressed layers; fioup-offline's gzip tars hold the bytes it sends (gzip layers Docker inflates).",
      aimLine(`wall <= ${AIM_TIME_RATIO} x docker load of the same bytes (best: ${bestLevel} at once)`, best.wallMs / dockerLoadGzip.wallMs <= AIM_TIME_RATIO, formatRatio(best.wallMs / dockerLoadGzip.wallMs)),
      aimLine('bytes read = input (single pass)', Math.abs(best.readBytes / singlePass - 1) <= 0.02, formatRatio(best.readBytes / singlePass)),
      aimLine('peak RSS < 150 MB', best.peakRssBytes < AIM_PEAK_RSS, `${(best.peakRssBytes / 1e6).toFixed(0)} MB`),
    ].join('\n'));
  });
}

await main();
