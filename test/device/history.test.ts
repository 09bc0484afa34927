import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { failureReason, recordAttempt, UpdateHistory } from '../../lib/device/history.js';
import { DeviceStateStore } from '../../lib/device/state.js';
import { DowngradeRefusedError } from '../../lib/errors.js';
import type { ProgressEvent } from '../../lib/progress.js';

const target = { name: 'amd64-linux-lmp-2', version: 2 };
const previous = { name: 'amd64-linux-lmp-1', version: 1 };

describe('the update history', () => {
  test('records an outcome with the target, and a failure with its exit code, reason and log tail', async () => {
    const state = new DeviceStateStore(await mkdtemp(join(tmpdir(), 'fioup-history-')));
    const ignore = () => {};
    await recordAttempt(state, 'install', ignore, async (attempt) => {
      attempt.target = target;
      return { outcome: 'apps-installed' as const };
    }, { previous });
    await recordAttempt(state, 'run', ignore, async () => ({ outcome: 'rolled-back' as const, failure: 'app web: service web is exited with code 1; its last log lines:\nboom\nbang' }), { target });
    await assert.rejects(recordAttempt(state, 'install', ignore, async (attempt) => {
      attempt.target = target;
      throw new DowngradeRefusedError('target amd64-linux-lmp-2 failed to start before and was rolled back: use --force to try it again');
    }), DowngradeRefusedError);

    const entries = await UpdateHistory.of(state).load();
    assert.deepEqual(entries.map((entry) => [entry.command, entry.result, entry.exitCode, entry.target?.name]), [
      ['install', 'apps-installed', 101, target.name],
      ['run', 'rolled-back', 99, target.name],
      ['install', 'failed', 102, target.name],
    ]);
    assert.deepEqual(entries[0]!.previous, previous);
    assert.equal(entries[1]!.reason, 'app web: service web is exited with code 1; its last log lines:');
    assert.equal(entries[1]!.logTail, 'boom\nbang');
    assert.equal(entries[2]!.error, 'DowngradeRefusedError');
    assert.ok(entries.every((entry) => entry.durationMs >= 0 && !Number.isNaN(Date.parse(entry.startedAt))));
    assert.equal(failureReason(entries, target.name), entries[1]!.reason, 'the reason is the failed run\'s, not the later refusal\'s');
  });

  test('keeps the last 100 entries; an unreadable history is empty, and one that cannot be written is a warning', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'fioup-history-'));
    const state = new DeviceStateStore(directory);
    for (let index = 0; index < 102; index++) await recordAttempt(state, 'run', () => {}, async () => ({ outcome: 'done' as const }), { target: { name: `t-${index}`, version: index } });
    const entries = await UpdateHistory.of(state).load();
    assert.equal(entries.length, 100);
    assert.equal(entries[0]!.target?.name, 't-2');

    await writeFile(join(state.directory, 'history.json'), '{not json');
    assert.deepEqual(await UpdateHistory.of(state).load(), []);

    const blocked = new DeviceStateStore(join(directory, 'a-file'));
    await writeFile(join(directory, 'a-file'), '');
    const events: ProgressEvent[] = [];
    const result = await recordAttempt(blocked, 'run', (event) => events.push(event), async () => ({ outcome: 'done' as const }));
    assert.equal(result.outcome, 'done');
    assert.match((events[0] as { message: string }).message, /the update history could not be written/);
  });
});
