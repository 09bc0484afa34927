import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FioupError } from '../../lib/errors.js';
import { listBlockDevices } from '../../lib/fs/block-devices.js';

test('without lsblk, the message says which package brings it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'fioup-no-lsblk-'));
  const path = process.env.PATH;
  process.env.PATH = empty;
  try {
    await assert.rejects(listBlockDevices(), (error: Error) =>
      error instanceof FioupError && /^lsblk is not installed, and the drives are listed with it: install util-linux \(apt install util-linux/.test(error.message));
  } finally {
    process.env.PATH = path;
    await rm(empty, { recursive: true });
  }
  await assert.doesNotReject(listBlockDevices(), 'with it back on PATH, the drives are listed');
});
