import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import stringWidth from 'string-width';
import { bundleCli } from '../../scripts/package/bundle.js';
import { removeTree } from '../helpers/device.js';

describe('the bundled script', () => {
  let workdir: string;
  let probe: string;

  before(async () => {
    workdir = await mkdtemp(join(tmpdir(), 'fioup-bundle-'));
    probe = join(workdir, 'probe.cjs');
    await bundleCli(join(import.meta.dirname, 'string-width-probe.ts'), probe, { version: '0.0.0', commit: 'test' });
  });
  after(async () => {
    await removeTree(workdir);
  });

  test('string-width measures as the real one, and builds its Intl.Segmenter only when asked about text other than printable ASCII', () => {
    const texts = ['', 'fioup-offline install [options]', '  --config  a config dir   [array]', '\u001b[1mbold\u001b[22m', 'tab\there', '日本語', '👍🏽', 'e\u0301', '\u0007'];
    const result = JSON.parse(execFileSync(process.execPath, [probe, JSON.stringify(texts)], { encoding: 'utf8' })) as { widths: number[]; beforeOtherText: number; atEnd: number };
    assert.deepEqual(result.widths, texts.map((text) => stringWidth(text)));
    assert.deepEqual(result.widths.slice(0, 3), [0, 31, 34]);
    assert.equal(result.beforeOtherText, 0, 'three printable ASCII texts measured without a segmenter');
    assert.ok(result.atEnd >= 1, 'the real string-width took over for the other texts');
  });
});
