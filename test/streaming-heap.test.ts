import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { withStreamingHeap } from '../lib/streaming-heap.js';

describe('streaming heap', () => {
  test('the roomier heap holds from the first stream to the end of the last, failed ones included; V8 then chooses again', async () => {
    const set: string[] = [];
    const record = (flags: string) => void set.push(flags);
    let releaseFirst!: () => void;
    const first = withStreamingHeap(() => new Promise<string>((resolve) => (releaseFirst = () => resolve('first'))), record);
    const second = withStreamingHeap(async () => {
      throw new Error('load failed');
    }, record);
    await assert.rejects(second, /load failed/);
    assert.deepEqual(set, ['--heap-growing-percent=400'], 'still streaming: the first has not ended');
    releaseFirst();
    assert.equal(await first, 'first');
    assert.deepEqual(set, ['--heap-growing-percent=400', '--heap-growing-percent=0']);
  });
});
