import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonLeniently, writeJsonAtomic } from '../fs/atomic.js';
import type { DeviceStateStore } from './state.js';

/** Image ids of one install: far below this. */
const MAX_JOURNAL_BYTES = 1 << 20;

/**
 * `<storage>/fioup-offline/loading-images.json`: the images an install is loading into Docker (their ids,
 * `sha256:<config hex>`), written before the first byte is sent. An install that dies or is abandoned before its
 * installation is recorded leaves them listed, and the next install or run removes those that no compose project
 * of the device names (lib/update/leftovers.ts); an image listed here is one fioup-offline brought into Docker,
 * never one that was there before, which the journal never lists.
 */
export class ImageLoadJournal {
  private readonly path: string;

  constructor(state: DeviceStateStore) {
    this.path = join(state.directory, 'loading-images.json');
  }

  /** The images listed; a journal that cannot be read lists none (it only ever frees space). */
  async list(): Promise<string[]> {
    const images = ((await readJsonLeniently(this.path, { what: 'image journal', maxBytes: MAX_JOURNAL_BYTES })) as { images?: unknown } | undefined)?.images;
    return Array.isArray(images) ? images.filter((image): image is string => typeof image === 'string') : [];
  }

  async add(images: readonly string[]): Promise<void> {
    const listed = await this.list();
    const added = images.filter((image) => !listed.includes(image));
    if (added.length > 0) await writeJsonAtomic(this.path, { images: [...listed, ...added] });
  }

  async remove(images: readonly string[]): Promise<void> {
    const listed = await this.list();
    const kept = listed.filter((image) => !images.includes(image));
    if (kept.length === 0) await rm(this.path, { force: true });
    else if (kept.length !== listed.length) await writeJsonAtomic(this.path, { images: kept });
  }
}
