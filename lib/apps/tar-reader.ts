import type { TarErrors } from '../archive/tar-format.js';
import { StreamTarSource } from '../archive/tar-sources.js';
import { walkTar } from '../archive/tar-walker.js';
import { ContentVerificationError } from '../errors.js';

/**
 * The entries of a tar archive that arrives as a stream (an app bundle, gunzipped as it is read), pulled only as
 * the consumer takes them so that a slow consumer (a file being written) holds the archive back. It reports every
 * entry as it is, names and types unchecked: deciding what is acceptable is the caller's job.
 */

export type TarEntryType = 'file' | 'directory' | 'hard link' | 'symbolic link' | 'character device' | 'block device' | 'fifo' | 'other';

export interface TarReadEntry {
  readonly path: string;
  readonly type: TarEntryType;
  /** Bytes of content following the header. */
  readonly size: number;
  /** Permission bits from the header (0o7777 at most). */
  readonly mode: number;
  /** The entry's content; what the consumer leaves unread is skipped before the next entry. */
  content(): AsyncGenerator<Buffer>;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '\0': 'file', '1': 'hard link', '2': 'symbolic link', '3': 'character device',
  '4': 'block device', '5': 'directory', '6': 'fifo',
};

const invalid = (message: string) => new ContentVerificationError(message);
const errors: TarErrors = { malformed: invalid, unsafe: invalid };

/**
 * Yields the archive's entries in order. After the end-of-archive block it reads the source to its end, so
 * that a verifying source gets to check its digest before the generator returns.
 * Malformed archives are a ContentVerificationError naming `what`.
 */
export async function* readTar(source: AsyncIterable<Buffer>, what: string): AsyncGenerator<TarReadEntry> {
  const bytes = new StreamTarSource(source);
  for await (const item of walkTar(bytes, { what, errors, requireUstarMagic: false, requireEndBlock: true })) {
    // Global PAX headers and long link names are not applied, as by Go's archive/tar, which composeapp reads bundles with.
    if (item.kind === 'record') continue;
    const end = item.dataOffset + item.size;
    yield {
      path: item.path,
      type: TYPES[item.type] ?? 'other',
      size: item.size,
      mode: item.mode,
      async *content() {
        yield* bytes.chunks(end - bytes.position);
        if (bytes.position < end) throw new ContentVerificationError(`${what}: the archive is truncated`);
      },
    };
  }
  await bytes.drain();
}
