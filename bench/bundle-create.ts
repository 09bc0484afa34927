/**
 * Issue 5: `fioup-offline bundle-create` of a ~2 GiB fioctl download into a directory bundle on the same disk,
 * beside `cp -r` of the download followed by `sha256sum` of every copied file. No Docker needed:
 * `npx tsx bench/bundle-create.ts [--size 256M] [--runs N]`.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import {
  aimLine, benchOptions, buildSizedFactory, cliCommand, directorySize, flushWrites, formatBytes, formatRatio, formatSeconds, measureOk, median, printTable,
  startupReadBytes, withScratch, type Measurement,
} from './lib.js';

const AIM_TIME_RATIO = 1.2;

/** Measures `body` writing to `destination`, from a clean destination and with earlier writes on disk. */
async function coldRun(destination: string, body: () => Promise<Measurement>): Promise<Measurement> {
  await rm(destination, { recursive: true, force: true });
  await flushWrites();
  return body();
}

async function main(): Promise<void> {
  const { size, runs } = benchOptions('2G');
  await withScratch('fioup-bench-bundle-create-', async (work) => {
    const download = (await buildSizedFactory(join(work, 'factory'), size, 'bench-bundle-create')).dirs.medium;
    const downloadSize = await directorySize(download);
    const bundle = join(work, 'bundle');
    const copy = join(work, 'copy');

    const createBundle = () => measureOk(cliCommand('bundle-create', download, bundle));
    const copyAndHash = () => measureOk(['bash', '-c', 'cp -r "$1" "$2" && find "$2" -type f -exec sha256sum {} + >/dev/null', 'bash', download, copy]);
    const samples = { fioup: [] as Measurement[], copy: [] as Measurement[] };
    for (let run = 1; run <= runs; run++) {
      console.log(`run ${run}/${runs}: fioup-offline bundle-create, cp -r + sha256sum...`);
      samples.fioup.push(await coldRun(bundle, createBundle));
      samples.copy.push(await coldRun(copy, copyAndHash));
    }
    const startup = await startupReadBytes(cliCommand('bundle-create', join(work, 'no-such-download'), join(work, 'no-bundle')));

    const baseline = median(samples.copy.map((sample) => sample.wallMs));
    const summary = (list: Measurement[], startupBytes: number) => ({
      wall: median(list.map((sample) => sample.wallMs)),
      read: median(list.map((sample) => sample.readBytes)) - startupBytes,
      written: median(list.map((sample) => sample.writeBytes)),
      rss: Math.max(...list.map((sample) => sample.peakRssBytes)),
    });
    const fioup = summary(samples.fioup, startup);
    const row = (name: string, s: ReturnType<typeof summary>) =>
      [name, formatSeconds(s.wall), formatRatio(s.wall / baseline), formatBytes(s.read), formatRatio(s.read / downloadSize), formatBytes(s.written), formatBytes(s.rss)];
    printTable(
      `bundle-create of a ${formatBytes(downloadSize)} fioctl download, dir format, same disk (median of ${runs} run(s))`,
      ['tool', 'wall', 'vs cp + sha256sum', 'bytes read', 'read / download', 'bytes written', 'peak RSS'],
      [row('fioup-offline bundle-create', fioup), row('cp -r + sha256sum', summary(samples.copy, 0))],
    );
    console.log([
      `fioup bytes read exclude ${formatBytes(startup)} read by the CLI starting up (a bundle-create of a missing download).`,
      aimLine(`wall <= ${AIM_TIME_RATIO} x (cp + sha256sum)`, fioup.wall / baseline <= AIM_TIME_RATIO, formatRatio(fioup.wall / baseline)),
    ].join('\n'));
  });
}

await main();
