/**
 * Issue 4: `fioup-offline install` of ~1 GiB of app images against the private dockerd, beside `docker load` of
 * docker-save tars of the same images and `skopeo copy` + `docker load`, each from a cold image store.
 * Run inside `npm run bench` (which provides DOCKER_HOST), or alone:
 * `bash scripts/with-engine.sh tsx bench/install.ts [--size 256M] [--runs N]`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FactoryBuild } from '../fixtures/factory.js';
import { createTestDevice, removeTree } from '../test/helpers/device.js';
import {
  aimLine, benchOptions, buildSizedFactory, cliCommand, directorySize, flushWrites, formatBytes, formatRatio, formatSeconds, measureOk, median, printTable,
  runQuiet, startupReadBytes, withScratch,
  type Measurement,
} from './lib.js';

const AIM_TIME_RATIO = 1.1;
const AIM_PEAK_RSS = 150 * 1000 * 1000;

interface BenchImage {
  /** The image's OCI layout dir on the medium (its blobs are in the medium's shared blob dir). */
  layoutDir: string;
  /** The tag the baselines load it under. */
  tag: string;
}

interface Sample {
  measurement: Measurement;
  imagesAfter: number;
}

function imagesOf(factory: FactoryBuild): BenchImage[] {
  return factory.apps.flatMap((app) => app.images.map((image) => {
    const [repository] = image.ref.split('@') as [string];
    return { layoutDir: join(app.dir, 'images', repository, image.indexDigest.replace('sha256:', '')), tag: `bench/${repository.split('/').at(-1)}:load` };
  }));
}

async function removeAllImages(): Promise<void> {
  const ids = (await runQuiet(['docker', 'images', '-aq'])).split('\n').filter(Boolean);
  if (ids.length > 0) await runQuiet(['docker', 'rmi', '-f', ...new Set(ids)]);
  await runQuiet(['docker', 'image', 'prune', '-af']);
}

async function imageCount(): Promise<number> {
  return (await runQuiet(['docker', 'images', '-q'])).split('\n').filter(Boolean).length;
}

/** Starts from an empty image store with the previous run's writes on disk, then measures `body`. */
async function coldRun(body: () => Promise<Measurement>): Promise<Sample> {
  await removeAllImages();
  await flushWrites();
  const measurement = await body();
  return { measurement, imagesAfter: await imageCount() };
}

async function main(): Promise<void> {
  const { size, runs } = benchOptions('1G');
  await withScratch('fioup-bench-install-', async (work) => {
    const factory = await buildSizedFactory(join(work, 'factory'), size, 'bench-install');
    const blobsDir = join(factory.dirs.apps, 'blobs');
    const images = imagesOf(factory);
    const archivesDir = join(work, 'archives');
    await mkdir(archivesDir);
    console.log(`writing ${images.length} docker-archive tars with skopeo (not timed)...`);
    const archives: string[] = [];
    for (const [index, image] of images.entries()) {
      const archive = join(archivesDir, `${index}.tar`);
      await runQuiet(['skopeo', 'copy', '--quiet', '--src-shared-blob-dir', blobsDir, `oci:${image.layoutDir}`, `docker-archive:${archive}:${image.tag}`]);
      archives.push(archive);
    }
    const mediumSize = await directorySize(factory.dirs.medium);
    const archivesSize = await directorySize(archivesDir);
    const skopeoScratch = join(work, 'skopeo-scratch');
    await mkdir(skopeoScratch);

    const installOnFreshDevice = async (): Promise<Measurement> => {
      const device = await createTestDevice(factory);
      try {
        return await measureOk(cliCommand('install', '--config', device.configDir, '--src-dir', factory.dirs.medium), [101]);
      } finally {
        await removeTree(device.root);
      }
    };
    const dockerLoadAll = () => measureOk(['bash', '-c', 'for archive; do docker load -q -i "$archive" >/dev/null || exit; done', 'bash', ...archives]);
    const skopeoThenLoad = () => measureOk(['bash', '-c', [
      'set -e; blobs=$1; tar=$2/image.tar; shift 2',
      'while [ $# -gt 0 ]; do skopeo copy --quiet --src-shared-blob-dir "$blobs" "oci:$1" "docker-archive:$tar:$2"; docker load -q -i "$tar" >/dev/null; rm -f "$tar"; shift 2; done',
    ].join('\n'), 'bash', blobsDir, skopeoScratch, ...images.flatMap((image) => [image.layoutDir, image.tag])]);

    const samples = { fioup: [] as Sample[], dockerLoad: [] as Sample[], skopeo: [] as Sample[] };
    for (let run = 1; run <= runs; run++) {
      console.log(`run ${run}/${runs}: fioup-offline install, docker load, skopeo copy + docker load...`);
      samples.fioup.push(await coldRun(installOnFreshDevice));
      samples.dockerLoad.push(await coldRun(dockerLoadAll));
      samples.skopeo.push(await coldRun(skopeoThenLoad));
    }
    await removeAllImages();
    const startup = await startupReads(factory, work);

    const baseline = median(samples.dockerLoad.map((sample) => sample.measurement.wallMs));
    const row = (name: string, list: Sample[], input: number, startupBytes: number) => {
      const wall = median(list.map((sample) => sample.measurement.wallMs));
      const read = median(list.map((sample) => sample.measurement.readBytes)) - startupBytes;
      const rss = Math.max(...list.map((sample) => sample.measurement.peakRssBytes));
      return [name, formatSeconds(wall), formatRatio(wall / baseline), formatBytes(read), formatBytes(input), formatRatio(read / input), formatBytes(rss), String(list.at(-1)!.imagesAfter)];
    };
    printTable(
      `install of ${images.length} images, ${formatBytes(mediumSize)} medium (median of ${runs} cold run(s); ${process.env.FIOUP_TEST_ENGINE ?? 'docker'}, storage ${process.env.FIOUP_TEST_STORAGE_DRIVER ?? '?'})`,
      ['tool', 'wall', 'vs docker load', 'bytes read', 'input size', 'read / input', 'peak RSS (client)', 'images after'],
      [
        row('fioup-offline install', samples.fioup, mediumSize, startup),
        row('docker load (docker-save tars)', samples.dockerLoad, archivesSize, 0),
        row('skopeo copy + docker load', samples.skopeo, archivesSize, 0),
      ],
    );
    const fioupWall = median(samples.fioup.map((sample) => sample.measurement.wallMs));
    const fioupRead = median(samples.fioup.map((sample) => sample.measurement.readBytes)) - startup;
    const fioupRss = Math.max(...samples.fioup.map((sample) => sample.measurement.peakRssBytes));
    console.log([
      `fioup bytes read exclude ${formatBytes(startup)} read by the CLI starting up (an install from an empty medium); input size is the whole medium.`,
      'peak RSS is the client process tree (dockerd excluded for every tool).',
      aimLine(`wall <= ${AIM_TIME_RATIO} x docker load`, fioupWall / baseline <= AIM_TIME_RATIO, formatRatio(fioupWall / baseline)),
      aimLine('bytes read = medium size (single pass)', Math.abs(fioupRead / mediumSize - 1) <= 0.02, formatRatio(fioupRead / mediumSize)),
      aimLine('peak RSS < 150 MB', fioupRss < AIM_PEAK_RSS, `${(fioupRss / 1e6).toFixed(0)} MB`),
    ].join('\n'));
  });
}

/** What the CLI reads before it touches a medium: an install from an empty directory, which fails at once. */
async function startupReads(factory: FactoryBuild, work: string): Promise<number> {
  const empty = join(work, 'empty-medium');
  await mkdir(empty);
  const device = await createTestDevice(factory);
  try {
    return await startupReadBytes(cliCommand('install', '--config', device.configDir, '--src-dir', empty));
  } finally {
    await removeTree(device.root);
  }
}

await main();
