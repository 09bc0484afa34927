import { setFlagsFromString } from 'node:v8';

/**
 * The heap may grow to 5x what a full GC left live before the next one (V8 chose ~1.1 here). The limit must clear the
 * live heap by more than the young generation (16 MiB), or the buffers it promotes start the next one at once: twice
 * (100) is not enough here.
 */
const STREAMING_GROWING_PERCENT = 400;
let streams = 0;

/**
 * Runs `work`, which streams many bytes through 1 MiB buffers (image loads, bundle writes), under a roomier heap.
 * The buffers in flight outlive young-generation GCs and land in the old generation, and with a live heap this small
 * (~10 MB) V8 then starts a full mark-compact for every ~15 MiB streamed: 20 per 256 MiB install, ~0.2 s of CPU taken
 * from the cores dockerd inflates the layers on. With the roomier heap there is one. Only while streaming: elsewhere
 * (TUF metadata of 20,000 targets) V8's default keeps the memory low. V8 reads the factor whenever a full GC sets the
 * next limit; a V8 that ignores the flag leaves the streams as they were.
 */
export async function withStreamingHeap<T>(work: () => Promise<T>, setFlags: (flags: string) => void = setFlagsFromString): Promise<T> {
  if (streams++ === 0) setFlags(`--heap-growing-percent=${STREAMING_GROWING_PERCENT}`);
  try {
    return await work();
  } finally {
    // 0: V8 chooses the factor again.
    if (--streams === 0) setFlags('--heap-growing-percent=0');
  }
}
