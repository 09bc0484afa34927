import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { acquireDeviceLock } from '../../lib/device/lock.js';
import { LockedError } from '../../lib/errors.js';

describe('device lock', () => {
  test('a second holder is refused while the first holds it, and may take it after release', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'fioup-lock-')), 'state', 'lock');
    const child = spawn('sleep', ['30']);
    const first = await acquireDeviceLock(path);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await first.release();
    await writeFile(path, `${child.pid}\n`);
    await assert.rejects(acquireDeviceLock(path), (error) => error instanceof LockedError && error.message.includes(`pid ${child.pid}`));
    child.kill();
    await new Promise((resolve) => child.on('close', resolve));
    const taken = await acquireDeviceLock(path);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await taken.release();
  });
});
