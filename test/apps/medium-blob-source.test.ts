import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { MediumBlobSource } from '../../lib/apps/medium-blob-source.js';
import { appBlobPath } from '../../lib/medium/layout.js';
import { parseDescriptor, type BlobDescriptor } from '../../lib/oci/descriptor.js';
import { ContentVerificationError } from '../../lib/errors.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import type { Medium, MediumEntry } from '../../lib/medium/medium.js';
import { verifyBlob } from '../helpers/blobs.js';

const GiB = 1024 ** 3;

function descriptorOf(content: Buffer, what: string): BlobDescriptor {
  return { mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(content).digest('hex')}`, size: content.length, what };
}

/** A medium that says a blob has the size the reader expects, then serves zeros: `available` of them, or endlessly. */
class LyingMedium implements Medium {
  readonly description = 'lying test medium';
  readonly localRoot = undefined;
  served = 0;

  constructor(private readonly claimedSize: number, private readonly available = Infinity) {}

  async stat(path: string): Promise<MediumEntry> {
    return { path, type: 'file', size: this.claimedSize };
  }

  async list(): Promise<string[]> {
    return [];
  }

  async readFile(): Promise<Buffer> {
    throw new Error('not used');
  }

  async open(): Promise<Readable> {
    const medium = this;
    return new Readable({
      read() {
        const size = Math.min(64 * 1024, medium.available - medium.served);
        medium.served += size;
        this.push(size > 0 ? Buffer.alloc(size) : null);
      },
    });
  }

  async close(): Promise<void> {}
}

const blobs = (medium: Medium) => new MediumBlobSource(medium);

describe('the blob source over a medium', () => {
  let root: string;
  let medium: DirectoryMedium;
  const content = Buffer.from('layer bytes '.repeat(1000));
  const blob = descriptorOf(content, 'layer 1 of image x of app web');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'medium-blob-source-'));
    await mkdir(join(root, 'apps/blobs/sha256'), { recursive: true });
    await writeFile(join(root, appBlobPath(blob.digest)), content);
    medium = new DirectoryMedium(root);
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('passes a good blob through whole', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of await blobs(medium).open(blob)) chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), content);
    assert.equal(await verifyBlob(blobs(medium), blob), content.length);
    assert.deepEqual(await blobs(medium).read(blob, 1 << 20), content);
  });

  test('stops a stream that never ends as soon as it passes the expected size', async () => {
    const endless = new LyingMedium(blob.size);
    await assert.rejects(verifyBlob(blobs(endless), blob), (error: Error) =>
      error instanceof ContentVerificationError && /layer 1 of image x of app web .*more than the 12000 bytes/.test(error.message));
    assert.ok(endless.served < 4 * 1024 * 1024, `served ${endless.served} bytes`);
  });

  test('refuses a huge sparse file in place of a small blob without reading it', async () => {
    const sparse = descriptorOf(Buffer.from('small'), 'config of image y of app web');
    const path = join(root, appBlobPath(sparse.digest));
    await writeFile(path, '');
    await truncate(path, 8 * GiB);
    const started = Date.now();
    await assert.rejects(verifyBlob(blobs(medium), sparse), (error: Error) =>
      error instanceof ContentVerificationError && error.message.includes(`${8 * GiB} bytes on the medium, 5 expected`));
    await assert.rejects(blobs(medium).read(sparse, 1 << 20), ContentVerificationError);
    assert.ok(Date.now() - started < 2000);
  });

  test('refuses a huge size claimed in a descriptor before reading anything', async () => {
    const huge = { ...blob, size: 5 * GiB, what: 'config of image z of app web' };
    await assert.rejects(blobs(new LyingMedium(huge.size)).read(huge, 4 << 20), (error: Error) =>
      error instanceof ContentVerificationError && /claims 5368709120 bytes, more than the 4194304 allowed/.test(error.message));
    assert.throws(() => parseDescriptor({ mediaType: 'x', digest: blob.digest, size: 2 ** 50 }, 64 * GiB, 'layer 1 of image z'),
      /layer 1 of image z: claims 1125899906842624 bytes/);
  });

  test('refuses a short read and a digest mismatch', async () => {
    await assert.rejects(verifyBlob(blobs(new LyingMedium(blob.size, blob.size - 1)), blob), /layer 1 of image x of app web .*: 11999 bytes, 12000 expected/);
    const short = { ...blob, size: blob.size + 1 };
    await assert.rejects(verifyBlob(blobs(medium), short), /bytes on the medium/);
    const other = descriptorOf(Buffer.from('other'), 'layer 9');
    await writeFile(join(root, appBlobPath(other.digest)), 'OTHER');
    await assert.rejects(verifyBlob(blobs(medium), other), /layer 9 \(blob sha256:[0-9a-f]{64}\): content has digest/);
  });

  test('refuses digests that are not sha256 with 64 lowercase hex', () => {
    for (const digest of [`sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha256:../../${'a'.repeat(58)}`]) {
      assert.throws(() => parseDescriptor({ mediaType: 'x', digest, size: 1 }, 10, 'layer'), ContentVerificationError);
    }
  });
});
