/**
 * Verification of a 20,000-target repository: ours on the ota-tuf dialect, and @tufjs/models (the checks of
 * tuf-js's TrustedMetadataStore: root chain, timestamp, snapshot and targets with hashes) on the same repository
 * in the spec dialect. Each side runs in its own child process so that wall time and peak RSS are its own.
 * (tuf-js's Updater over HTTP on 127.0.0.1 was tried first: it took 460 s on an 18 MiB targets.json.)
 * Run: `npx tsx bench/tuf-verify.ts [targets]`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, MetadataKind } from '@tufjs/models';
import { DirectoryMedium } from '../lib/medium/directory-medium.js';
import { DeviceTrustStore } from '../lib/tuf/device-trust.js';
import { verifyMedium } from '../lib/tuf/verify-medium.js';
import { buildFactory, scenarios } from '../fixtures/factory.js';

interface Measurement {
  wallMs: number;
  /** User + system CPU time: what the verification costs, whatever else the machine is doing. */
  cpuMs: number;
  peakRssBytes: number;
  /** Peak RSS minus the RSS before verification started (node, tsx and the loaded modules). */
  growthBytes: number;
  targets: number;
}

function measurement(startMs: number, startCpu: NodeJS.CpuUsage, startRss: number, targets: number): Measurement {
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const cpu = process.cpuUsage(startCpu);
  return { wallMs: performance.now() - startMs, cpuMs: (cpu.user + cpu.system) / 1000, peakRssBytes, growthBytes: peakRssBytes - startRss, targets };
}

async function measureOurs(out: string): Promise<Measurement> {
  const [start, startCpu, startRss] = [performance.now(), process.cpuUsage(), process.memoryUsage().rss];
  const trust = await new DeviceTrustStore({ rootsDir: join(out, 'device/roots'), deviceType: 'ci', storageDir: join(out, 'device/storage') }).load();
  const verified = await verifyMedium(new DirectoryMedium(join(out, 'offline-update')), trust, { deviceType: 'ci', tags: ['main'] });
  return measurement(start, startCpu, startRss, verified.targets.fields.targets.size);
}

type JsonObject = Parameters<typeof Metadata.fromJSON>[1];

async function measureTufModels(rootsDir: string, tufDir: string): Promise<Measurement> {
  const [start, startCpu, startRss] = [performance.now(), process.cpuUsage(), process.memoryUsage().rss];
  const load = async (path: string) => {
    const bytes = await readFile(path);
    return { bytes, json: JSON.parse(bytes.toString('utf8')) as JsonObject };
  };
  let root = Metadata.fromJSON(MetadataKind.Root, (await load(join(rootsDir, '1.root.json'))).json);
  for (let version = 2; ; version++) {
    const file = await load(join(version <= 2 ? rootsDir : tufDir, `${version}.root.json`)).catch(() => undefined);
    if (!file) break;
    const next = Metadata.fromJSON(MetadataKind.Root, file.json);
    root.verifyDelegate(MetadataKind.Root, next);
    next.verifyDelegate(MetadataKind.Root, next);
    if (next.signed.version !== version) throw new Error(`root version ${next.signed.version}, expected ${version}`);
    root = next;
  }
  const now = new Date();
  const timestampFile = await load(join(tufDir, 'timestamp.json'));
  const timestamp = Metadata.fromJSON(MetadataKind.Timestamp, timestampFile.json);
  root.verifyDelegate(MetadataKind.Timestamp, timestamp);
  const snapshotFile = await load(join(tufDir, 'snapshot.json'));
  timestamp.signed.snapshotMeta.verify(snapshotFile.bytes);
  const snapshot = Metadata.fromJSON(MetadataKind.Snapshot, snapshotFile.json);
  root.verifyDelegate(MetadataKind.Snapshot, snapshot);
  const targetsFile = await load(join(tufDir, 'targets.json'));
  snapshot.signed.meta['targets.json']!.verify(targetsFile.bytes);
  const targets = Metadata.fromJSON(MetadataKind.Targets, targetsFile.json);
  root.verifyDelegate(MetadataKind.Targets, targets);
  if ([root, timestamp, snapshot, targets].some((metadata) => metadata.signed.isExpired(now))) throw new Error('expired metadata');
  return measurement(start, startCpu, startRss, Object.keys(targets.signed.targets).length);
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

    const ours = runChild('ours', ota);
    const theirs = runChild('tufjs-models', join(spec, 'device/roots/ci'), join(spec, 'offline-update/tuf'));
    const otaSize = (await stat(join(ota, 'offline-update/tuf/targets.json'))).size;
    const specSize = (await stat(join(spec, 'offline-update/tuf/targets.json'))).size;
    const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    const row = (m: Measurement, size: number) => ({
      'targets.json': mib(size), 'targets': m.targets, 'wall ms': Math.round(m.wallMs), 'cpu ms': Math.round(m.cpuMs), 'peak RSS': mib(m.peakRssBytes),
      'RSS growth': mib(m.growthBytes), 'growth / targets.json': Number((m.growthBytes / size).toFixed(2)),
    });
    console.table({ 'fioup-offline (ota-tuf)': row(ours, otaSize), '@tufjs/models (spec)': row(theirs, specSize) });
    console.log(`time ratio ours / @tufjs/models: ${(ours.wallMs / theirs.wallMs).toFixed(2)}; peak RSS ratio: ${(ours.peakRssBytes / theirs.peakRssBytes).toFixed(2)}`);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--measure') {
  const [, , , side, ...args] = process.argv;
  console.log(JSON.stringify(side === 'ours' ? await measureOurs(args[0]!) : await measureTufModels(args[0]!, args[1]!)));
} else {
  await main();
}
