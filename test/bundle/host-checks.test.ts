import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild, type FactorySpec } from '../../fixtures/factory.js';
import { seededBytes } from '../../fixtures/random.js';
import { isoSeconds } from '../../fixtures/tuf/time.js';
import { ExitCode } from '../../lib/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { mountSmallFilesystem } from '../helpers/small-filesystem.js';

const APP = 'bundlecheck';
const DAY = 86_400_000;
let work: string;
const factories: Record<string, FactoryBuild> = {};

function spec(overrides: Partial<FactorySpec>): FactorySpec {
  return scenarios.basic({
    seed: 'bundle-host-checks',
    targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny(APP, 1)] }],
    ...overrides,
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'bundle-host-checks-'));
  const soon = isoSeconds(new Date(Date.now() + 10 * DAY));
  const specs: Record<string, FactorySpec> = {
    good: spec({}),
    corrupt: spec({ variants: ['corrupted-blob'] }),
    missing: spec({ variants: ['missing-blob'] }),
    badSignature: spec({ variants: ['bad-signature:targets'] }),
    expired: spec({ variants: ['expired-timestamp'] }),
    expiringSoon: spec({ tuf: { rootVersion: 4, rotations: { root: [3] }, expires: { snapshot: soon } } }),
  };
  await Promise.all(Object.entries(specs).map(async ([name, factorySpec]) => {
    factories[name] = await buildFactory(join(work, name), factorySpec);
  }));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const create = (args: string[], env?: NodeJS.ProcessEnv) => runCli(['bundle-create', ...args], env ? { env } : {});
const medium = (name: string) => factories[name]!.dirs.medium;
/** The damaged file, as the download names it (`apps/blobs/sha256/<hex>`). */
const damaged = (name: string) => relative(medium(name), join(work, name, factories[name]!.contentDamage[0]!.path));

describe('bundle-create refuses a bad download, naming the file', () => {
  test('a blob corrupted in place (same size): 70, the blob named, no archive left behind', async () => {
    const destination = join(work, 'corrupt.tar');
    const result = await create([medium('corrupt'), destination, '--format', 'tar']);
    assert.equal(result.code, ExitCode.contentVerification, result.stderr);
    assert.match(damaged('corrupt'), /^apps\/blobs\/sha256\/[0-9a-f]{64}$/);
    assert.ok(result.stderr.includes(`${damaged('corrupt')} has sha256 `), result.stderr);
    assert.match(result.stderr, /the download is corrupt/);
    assert.deepEqual((await readdir(work)).filter((name) => name.startsWith('corrupt.tar')), []);
  });

  test('a missing layer of a present manifest is damage: 70, the blob named, nothing written', async () => {
    const destination = join(work, 'missing-out');
    const result = await create([medium('missing'), destination]);
    assert.equal(result.code, ExitCode.contentVerification, result.stderr);
    assert.ok(result.stderr.includes(`(${damaged('missing')}) is missing from download ${medium('missing')}, and its manifest is there`), result.stderr);
    assert.equal(await stat(destination).catch(() => undefined), undefined);
  });

  test('a truncated TUF file: 15, the file named', async () => {
    const copy = join(work, 'truncated');
    await cp(medium('good'), copy, { recursive: true });
    const targets = join(copy, 'tuf/targets.json');
    await truncate(targets, Math.floor((await stat(targets)).size / 2));
    const result = await create([copy, join(work, 'truncated-out')]);
    assert.equal(result.code, ExitCode.invalidMetadata, result.stderr);
    assert.ok(result.stderr.includes(targets), result.stderr);
  });

  test('a wrong signature on targets.json: 11, the file named', async () => {
    const result = await create([medium('badSignature'), join(work, 'bad-signature-out')]);
    assert.equal(result.code, ExitCode.security, result.stderr);
    assert.match(result.stderr, /targets\.json/);
    assert.match(result.stderr, /signature/i);
  });

  test('expired metadata: 12, the file and the time named', async () => {
    const result = await create([medium('expired'), join(work, 'expired-out')]);
    assert.equal(result.code, ExitCode.expired, result.stderr);
    assert.ok(result.stderr.includes(`${medium('expired')}: tuf/timestamp.json: expired at 2025-01-01T00:00:00.000Z`), result.stderr);
  });
});

describe('bundle-create warns of metadata about to expire', () => {
  test('within --min-validity: a warning on stderr, and an NDJSON event with --json; beyond it: silence', async () => {
    const human = await create([medium('expiringSoon'), join(work, 'soon-1')]);
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stderr.includes(`warning: download ${medium('expiringSoon')}: tuf/snapshot.json expires at ${factories.expiringSoon!.tuf.expires.snapshot.slice(0, 19)}.000Z, within 30 days: devices refuse the bundle after that`), human.stderr);

    const json = await create([medium('expiringSoon'), join(work, 'soon-2'), '--json']);
    assert.equal(json.code, 0, json.stderr);
    const events = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const warnings = events.filter((event) => event.event === 'warning');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /tuf\/snapshot\.json expires at .*within 30 days/);
    assert.equal(events.at(-1).manifest.metadataExpires.slice(0, 10), factories.expiringSoon!.tuf.expires.snapshot.slice(0, 10));

    const relaxed = await create([medium('expiringSoon'), join(work, 'soon-3'), '--min-validity', '5']);
    assert.equal(relaxed.code, 0, relaxed.stderr);
    assert.doesNotMatch(relaxed.stderr, /warning/);
  });
});

describe('bundle-create destination and reproducibility', () => {
  test('a destination too small (loop-mounted ext4) is refused before writing: 60, with the size needed', async () => {
    const big = join(work, 'big');
    await cp(medium('good'), big, { recursive: true });
    const filler = seededBytes('bundle-host-checks', 'filler', 12 << 20);
    await writeFile(join(big, 'apps/blobs/sha256', createHash('sha256').update(filler).digest('hex')), filler);
    const { mountPoint, unmount } = await mountSmallFilesystem(work, 'small', '8M');
    try {
      const before = await readdir(mountPoint);
      const result = await create([big, join(mountPoint, 'bundle.tar'), '--format', 'tar']);
      assert.equal(result.code, ExitCode.insufficientSpace, result.stderr);
      assert.match(result.stderr, /bundle\.tar needs 1\d\.\d MiB but its file system has \d\.\d MiB free/);
      assert.deepEqual(await readdir(mountPoint), before);
    } finally {
      unmount();
    }
  });

  test('tar and zip are byte-identical across runs with the same SOURCE_DATE_EPOCH', async () => {
    for (const format of ['tar', 'zip']) {
      const outputs = [];
      for (const [run, epoch] of [[1, '1767225600'], [2, '1767225600'], [3, '1767312000']] as const) {
        const destination = join(work, `repro-${run}.${format}`);
        const result = await create([medium('good'), destination, '--format', format], { SOURCE_DATE_EPOCH: epoch });
        assert.equal(result.code, 0, result.stderr);
        outputs.push(await readFile(destination));
      }
      assert.ok(outputs[0]!.equals(outputs[1]!), `${format}: same input and time, same bytes`);
      assert.ok(!outputs[0]!.equals(outputs[2]!), `${format}: the creation time is part of the bytes`);
      assert.ok(outputs[0]!.includes(Buffer.from('"createdAt": "2026-01-01T00:00:00.000Z"')), `${format}: bundle.json carries the epoch`);
    }
  });
});
