import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findReportsBeside } from '../../lib/report/list.js';
import { buildReport } from '../../lib/report/report.js';
import { writeReportOnMedium } from '../../lib/report/writer.js';
import { validateReport } from '../helpers/reports.js';

function report(finishedAt: Date) {
  return buildReport({
    tool: { version: '0.1.0', commit: 'abcdef123456' },
    device: { hardwareId: 'imx8mm:lpddr4', deviceId: 'f4c1/9e', hostname: 'host', deviceType: 'prod', tags: ['main'] },
    medium: '/run/fioup-offline/usb/sdb1',
    period: { startedAt: new Date(finishedAt.getTime() - 1500), finishedAt },
    targets: { current: { name: 't-1', version: 1 } },
    steps: [{
      command: 'install', startedAt: finishedAt.toISOString(), durationMs: 12, target: { name: 't-1', version: 1 }, previous: undefined,
      result: 'failed', exitCode: 60, error: 'InsufficientSpaceError', reason: 'not enough free space on /var',
    }],
    apps: [{ name: 'web', uri: 'hub.foundries.io/f/web@sha256:00', state: 'running' }],
    earlierUpdates: [],
  });
}

describe('the report writer', () => {
  test('names the directory and files so that FAT takes them, never overwrites an earlier report, and lists them', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fioup-report-'));
    const when = new Date('2025-05-20T10:11:12.345Z');
    const first = await writeReportOnMedium(root, report(when));
    const second = await writeReportOnMedium(root, report(when));
    assert.ok(first.written && second.written);
    const directory = join(root, 'fioup-offline-reports', 'imx8mm_lpddr4-f4c1_9e');
    assert.deepEqual((await readdir(directory)).sort(), ['20250520T101112Z-2.json', '20250520T101112Z-2.txt', '20250520T101112Z.json', '20250520T101112Z.txt']);
    const written = JSON.parse(await readFile(join(directory, '20250520T101112Z.json'), 'utf8'));
    validateReport(written);
    assert.equal(written.result, 'refused');
    assert.equal(written.errors[0].fix, 'free space on the filesystem the message names (old images, logs), or raise [pacman] storage_watermark');
    assert.match(await readFile(join(directory, '20250520T101112Z.txt'), 'utf8'), /REFUSED: nothing was changed[\s\S]*exit code: +60: not enough free space on the device[\s\S]*fix: free space/);

    const listed = await findReportsBeside(root);
    assert.deepEqual(listed.map((entry) => `${entry.device} ${entry.result} ${entry.exitCode}`), ['imx8mm_lpddr4-f4c1_9e refused 60', 'imx8mm_lpddr4-f4c1_9e refused 60']);
  });

  test('a medium that is gone is a problem reported, not an exception', async () => {
    const outcome = await writeReportOnMedium('/nonexistent/drive', report(new Date()));
    assert.equal(outcome.written, false);
    assert.match((outcome as { problem: string }).problem, /ENOENT/);
  });
});
