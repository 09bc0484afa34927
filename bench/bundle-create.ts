/**
 * Issues 5 and 12: `fioup-offline bundle-create` of a ~2 GiB multi-arch fioctl download (image indexes list amd64
 * and arm64, the download holds amd64 only, as the factory's CI copies it) into a directory bundle on the same
 * disk, its read-back from the drive (O_DIRECT) included, beside `cp -r` of the download followed by `sha256sum`
 * of every copied file. No Docker needed: `npx tsx bench/bundle-create.ts [--size 256M] [--runs N] [--from-source | --executable]`.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keepDownloadedPlatforms } from '../fixtures/apps/index.js';
import {
  aimLine, benchOptions, buildSizedFactory, directorySize, flushWrites, formatBytes, formatRatio, formatSeconds, measureOk, measureStartup, prepareCli, describeCli,
  printTable, summarize, withScratch, type Measurement, type Summary,
} from './lib.js';

const AIM_TIME_RATIO = 1.2;

/** Measures `body` writing to `destination`, from a clean destination and with earlier writes on disk. */
async function coldRun(destination: string, body: () => Promise<Measurement>): Promise<Measurement> {
  await rm(destination, { recursive: true, force: true });
  await flushWrites();
  return body();
}

async function main(): Promise<void> {
  const { size, runs, cli: cliKind } = benchOptions('2G');
  await withScratch('fioup-bench-bundle-create-', async (work) => {
    const cli = await prepareCli(join(work, 'dist'), cliKind);
    const factory = await buildSizedFactory(join(work, 'factory'), size, 'bench-bundle-create');
    await keepDownloadedPlatforms(factory.dirs.apps, factory.apps, ['amd64']);
    const download = factory.dirs.medium;
    const downloadSize = await directorySize(download);
    const bundle = join(work, 'bundle');
    const copy = join(work, 'copy');

    const createBundle = () => measureOk(cli('bundle-create', download, bundle));
    const copyAndHash = () => measureOk(['bash', '-c', 'cp -r "$1" "$2" && find "$2" -type f -exec sha256sum {} + >/dev/null', 'bash', download, copy]);
    const samples = { fioup: [] as Measurement[], copy: [] as Measurement[] };
    for (let run = 1; run <= runs; run++) {
      console.log(`run ${run}/${runs}: fioup-offline bundle-create, cp -r + sha256sum...`);
      samples.fioup.push(await coldRun(bundle, createBundle));
      samples.copy.push(await coldRun(copy, copyAndHash));
    }
    const startup = await measureStartup(cli('bundle-create', join(work, 'no-such-download'), join(work, 'no-bundle')));

    const fioup = summarize(samples.fioup, startup.readBytes);
    const copied = summarize(samples.copy);
    const row = (name: string, s: Summary) => [
      name, formatSeconds(s.wallMs), formatRatio(s.wallMs / copied.wallMs), formatBytes(s.readBytes), formatRatio(s.readBytes / downloadSize),
      formatBytes(s.writeBytes), formatBytes(s.peakRssBytes),
    ];
    printTable(
      `bundle-create of a ${formatBytes(downloadSize)} multi-arch fioctl download (amd64 of amd64+arm64 indexes), dir format, same disk, ` +
        `read-back from the drive included (${describeCli(cliKind)}; median of ${runs} run(s))`,
      ['tool', 'wall', 'vs cp + sha256sum', 'bytes read', 'read / download', 'bytes written', 'peak RSS'],
      [
        row('fioup-offline bundle-create', fioup),
        row('cp -r + sha256sum', copied),
        ['fioup-offline start-up only', formatSeconds(startup.wallMs), '', formatBytes(startup.readBytes), '', '', formatBytes(startup.peakRssBytes)],
      ],
    );
    console.log([
      'fioup bytes read exclude the start-up reads (a bundle-create of a missing download, which fails at once). Its read-back reads',
      'the bundle from the disk with O_DIRECT (sha256sum of the copy reads it from the page cache); rchar counts both kinds of read.',
      aimLine(`wall <= ${AIM_TIME_RATIO} x (cp + sha256sum)`, fioup.wallMs / copied.wallMs <= AIM_TIME_RATIO, formatRatio(fioup.wallMs / copied.wallMs)),
    ].join('\n'));
  });
}

await main();
