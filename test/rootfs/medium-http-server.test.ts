import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { serveMediumDirectory, type LoopbackServer } from '../../lib/rootfs/medium-http-server.js';
import { withoutLocalRoot } from './helpers.js';

/** A raw request: the path is sent as written, without the URL normalisation fetch would apply. */
function get(server: LoopbackServer, path: string, method = 'GET'): Promise<{ status: number; body: string; length: string | undefined }> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks).toString(), length: response.headers['content-length'] }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('loopback HTTP server over a medium directory', () => {
  let root: string;
  let server: LoopbackServer;
  const big = 'x'.repeat(3 << 20);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fioup-loopback-'));
    await mkdir(join(root, 'ostree_repo', 'objects', 'ab'), { recursive: true });
    await mkdir(join(root, 'tuf'));
    await writeFile(join(root, 'ostree_repo', 'config'), '[core]\nmode=archive-z2\n');
    await writeFile(join(root, 'ostree_repo', 'objects', 'ab', 'big.filez'), big);
    await writeFile(join(root, 'tuf', 'secret'), 'outside the served directory');
    server = await serveMediumDirectory(withoutLocalRoot(new DirectoryMedium(root)), 'ostree_repo');
  });
  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 and serves files of the directory, large ones whole', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.deepEqual(await get(server, '/config'), { status: 200, body: '[core]\nmode=archive-z2\n', length: '23' });
    const large = await get(server, '/objects/ab/big.filez');
    assert.equal(large.status, 200);
    assert.equal(large.body, big);
  });

  test('HEAD gives the length without a body', async () => {
    assert.deepEqual(await get(server, '/config', 'HEAD'), { status: 200, body: '', length: '23' });
  });

  test('404 for missing files, directories and paths leaving the directory; 405 for writes', async () => {
    for (const path of ['/summary', '/objects', '/objects/ab', '/../tuf/secret', '/..%2ftuf%2fsecret', '/%2e%2e/tuf/secret', '/objects/..%2f..%2ftuf/secret']) {
      const response = await get(server, path);
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(response.body, /outside/, path);
    }
    assert.equal((await get(server, '/config', 'PUT')).status, 405);
  });
});
