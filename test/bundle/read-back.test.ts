import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sampleApps } from '../../fixtures/apps/index.js';
import { buildFactory, scenarios, type FactoryBuild } from '../../fixtures/factory.js';
import { createBundle } from '../../lib/bundle/create.js';
import { ContentVerificationError } from '../../lib/errors.js';
import type { ProgressEvent } from '../../lib/progress.js';

/**
 * The read-back reads the drive, not the page cache: a bundle is written to an ext4 file system on a loop device,
 * then, once written and synced and before the read-back, bytes of a blob are changed in the backing image file,
 * underneath the file system's cache. A read through that cache still sees what was written; the read-back must not.
 */
describe('bundle-create reads the bundle back from the drive', () => {
  let work: string;
  let factory: FactoryBuild;
  const mounted: string[] = [];
  const createdAt = new Date('2026-01-02T03:04:05Z');

  /** A fresh ext4 file system on a loop device (freed blocks of an earlier bundle would still hold its bytes). */
  async function freshDrive(name: string): Promise<{ image: string; mountPoint: string }> {
    const image = join(work, `${name}.img`);
    const mountPoint = join(work, name);
    await mkdir(mountPoint);
    execFileSync('truncate', ['-s', '48M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    execFileSync('mount', ['-o', 'loop', image, mountPoint]);
    mounted.push(mountPoint);
    return { image, mountPoint };
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bundle-read-back-'));
    factory = await buildFactory(join(work, 'factory'), scenarios.basic({
      seed: 'bundle-read-back',
      targets: [{ hardwareIds: ['amd64-linux'], version: 1, apps: [sampleApps.tiny('readback', 1)] }],
    }));
  });
  after(async () => {
    for (const mountPoint of mounted) spawnSync('umount', [mountPoint]);
    await rm(work, { recursive: true, force: true });
  });

  /** The app's own layer: bytes found once in the image, whatever the format. */
  const victim = () => `apps/blobs/sha256/${factory.apps[0]!.images[0]!.platforms.amd64!.layerDigests.at(-1)!.slice(7)}`;

  test('on a loop-mounted ext4 drive, the read-back is direct: no page-cache note', async () => {
    const { mountPoint } = await freshDrive('sound');
    const result = await createBundle({ sources: [factory.dirs.medium], destination: join(mountPoint, 'bundle'), format: 'dir', createdAt });
    assert.ok(!result.notes.some((note) => note.includes('page cache')), result.notes.join('\n'));
  });

  for (const format of ['dir', 'tar', 'zip'] as const) {
    test(`${format}: bytes changed on the drive underneath the page cache are found, the file named, the bundle removed (70)`, async () => {
      const { image, mountPoint } = await freshDrive(`stick-${format}`);
      const destination = join(mountPoint, format === 'dir' ? 'bundle' : `bundle.${format}`);
      const blob = await readFile(join(factory.dirs.medium, victim()));
      const needle = blob.subarray(blob.length >> 1, (blob.length >> 1) + 64);
      const written = format === 'dir' ? join(destination, victim()) : destination;
      let cachedBefore: Buffer | undefined;
      let cachedAfter: Buffer | undefined;
      const onProgress = (event: ProgressEvent) => {
        if (event.type !== 'step' || event.step !== 'read back and verify' || event.state !== 'start') return;
        cachedBefore = readFileSync(written);
        const bytes = readFileSync(image);
        const at = bytes.indexOf(needle);
        assert.ok(at >= 0 && bytes.indexOf(needle, at + 1) < 0, 'the blob is on the drive, once');
        const descriptor = openSync(image, 'r+');
        writeSync(descriptor, Buffer.from([bytes[at]! ^ 0xff]), 0, 1, at);
        closeSync(descriptor);
        cachedAfter = readFileSync(written);
      };
      await assert.rejects(createBundle({ sources: [factory.dirs.medium], destination, format, createdAt, onProgress }), (error: Error) => {
        assert.ok(error instanceof ContentVerificationError, `${error.name}: ${error.message}`);
        assert.match(error.message, new RegExp(`^read back from ${destination} \\(removed, run again: if it fails again, the drive is failing\\): 1 file\\(s\\) do not match:`));
        assert.ok(error.message.includes(`  ${victim()}: `), error.message);
        return true;
      });
      assert.ok(cachedBefore && cachedAfter?.equals(cachedBefore), 'a read through the page cache still sees the bytes as written');
      if (format === 'dir') {
        assert.equal(await stat(join(destination, 'bundle.json')).catch(() => undefined), undefined);
        assert.equal(await stat(join(destination, victim())).catch(() => undefined), undefined);
      } else {
        assert.equal(await stat(destination).catch(() => undefined), undefined);
      }
    });
  }
});
