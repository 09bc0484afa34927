/**
 * Verification of a 20,000-target repository: ours on the ota-tuf dialect, tuf-js's Updater on the same
 * repository in the spec dialect, served over HTTP on 127.0.0.1. Each side runs in its own child process so
 * that wall time and peak RSS are its own. Run: `npx tsx bench/tuf-verify.ts [targets]`.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Updater } from 'tuf-js';
import { DirectoryMedium } from '../lib/medium/directory-medium.js';
import { DeviceTrustStore } from '../lib/tuf/device-trust.js';
import { verifyMedium } from '../lib/tuf/verify-medium.js';
import { buildFactory, scenarios } from '../fixtures/factory.js';

interface Measurement {
  wallMs: number;
  peakRssBytes: number;
  /** Peak RSS minus the RSS before verification started (node, tsx and the loaded modules). */
  growthBytes: number;
  targets: number;
}

function measurement(startMs: number, startRss: number, targets: number): Measurement {
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  return { wallMs: performance.now() - startMs, peakRssBytes, growthBytes: peakRssBytes - startRss, targets };
}

async function measureOurs(out: string): Promise<Measurement> {
  const [start, startRss] = [performance.now(), process.memoryUsage().rss];
  const trust = await new DeviceTrustStore({ rootsDir: join(out, 'device/roots'), deviceType: 'ci', storageDir: join(out, 'device/storage') }).load();
  const verified = await verifyMedium(new DirectoryMedium(join(out, 'offline-update')), trust, { deviceType: 'ci', tags: ['main'] });
  return measurement(start, startRss, verified.targets.fields.targets.size);
}

async function measureTufJs(metadataDir: string, baseUrl: string): Promise<Measurement> {
  const [start, startRss] = [performance.now(), process.memoryUsage().rss];
  const updater = new Updater({ metadataDir, metadataBaseUrl: baseUrl });
  await updater.refresh();
  const info = await updater.getTargetInfo('amd64-linux-lmp-1');
  if (!info) throw new Error('tuf-js did not find amd64-linux-lmp-1');
  return measurement(start, startRss, Number.NaN);
}

/** Serves the files of `dir` read-only, by name. */
function serveDirectory(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const name = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname.slice(1));
    if (!/^[\w.-]+$/.test(name)) return void response.writeHead(404).end();
    readFile(join(dir, name)).then(
      (bytes) => response.writeHead(200, { 'content-length': bytes.length }).end(bytes),
      () => response.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    resolve({ server, url: `http://127.0.0.1:${address.port}` });
  }));
}

function runChild(...args: string[]): Measurement {
  const output = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', ...args], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').at(-1)!) as Measurement;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const base = await mkdtemp(join(tmpdir(), 'fioup-bench-tuf-'));
  try {
    console.log(`generating two ${count}-target repositories (ota-tuf and spec dialects)...`);
    const ota = join(base, 'ota');
    const spec = join(base, 'spec');
    await buildFactory(ota, scenarios.scale({ targets: count, apps: 1 }, { dialect: 'ota-tuf' }));
    await buildFactory(spec, scenarios.scale({ targets: count, apps: 1 }, { dialect: 'spec' }));

    // tuf-js: trusts root 1, fetches 2.root.json... from the server, which holds the device's and the medium's files.
    const served = join(base, 'served');
    await cp(join(spec, 'device/roots/ci'), served, { recursive: true });
    await cp(join(spec, 'offline-update/tuf'), served, { recursive: true });
    const metadataDir = join(base, 'tuf-js-metadata');
    await mkdir(metadataDir);
    await cp(join(served, '1.root.json'), join(metadataDir, 'root.json'));
    const { server, url } = await serveDirectory(served);

    const ours = runChild('ours', ota);
    let theirs: Measurement;
    try {
      theirs = await new Promise<Measurement>((resolve, reject) => {
        // execFileSync would block the server's event loop: run this child asynchronously.
        import('node:child_process').then(({ execFile }) =>
          execFile(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', 'tuf-js', metadataDir, url], (error, stdout) =>
            error ? reject(error) : resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as Measurement)),
        );
      });
    } finally {
      server.close();
    }
    const otaTargetsSize = (await stat(join(ota, 'offline-update/tuf/targets.json'))).size;
    const specTargetsSize = (await stat(join(spec, 'offline-update/tuf/targets.json'))).size;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    console.table({
      'fioup-offline (ota-tuf)': { 'targets.json': mib(otaTargetsSize), 'wall ms': ours.wallMs.toFixed(0), 'peak RSS': mib(ours.peakRssBytes), 'RSS growth': mib(ours.growthBytes), 'growth / targets.json': (ours.growthBytes / otaTargetsSize).toFixed(2) },
      'tuf-js Updater (spec)': { 'targets.json': mib(specTargetsSize), 'wall ms': theirs.wallMs.toFixed(0), 'peak RSS': mib(theirs.peakRssBytes), 'RSS growth': mib(theirs.growthBytes), 'growth / targets.json': (theirs.growthBytes / specTargetsSize).toFixed(2) },
    });
    console.log(`targets verified: ${ours.targets}; time ratio ours/tuf-js: ${(ours.wallMs / theirs.wallMs).toFixed(2)}; peak RSS ratio: ${(ours.peakRssBytes / theirs.peakRssBytes).toFixed(2)}`);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--measure') {
  const [, , , side, ...args] = process.argv;
  const result = side === 'ours' ? await measureOurs(args[0]!) : await measureTufJs(args[0]!, args[1]!);
  console.log(JSON.stringify(result));
} else {
  await main();
}
