import { decodeLongName, decodeTarHeader, parsePaxRecords, TAR_BLOCK, tarPadding, type PaxAttributes, type TarErrors } from './tar-format.js';

/**
 * Walks the headers of a tar archive, front to back: PAX extended headers ('x') and GNU long names ('L') folded
 * into the entry they precede, sizes, padding, the end-of-archive block. It decides nothing about what an archive
 * may hold: every other entry is yielded with its raw type flag, and the records it does not apply (global PAX
 * headers, GNU long link names) with their bodies, for the caller to accept, ignore or refuse. Malformed and
 * implausible headers fail through the caller's errors.
 */

/** The bytes of an archive, read in order: a stream, or a file read at positions (see `tar-sources.ts`). */
export interface TarSource {
  /** Bytes read or passed over so far. */
  readonly position: number;
  /** The archive's size when known (a file); undefined for a stream. */
  readonly length: number | undefined;
  /** The next `length` bytes, or undefined when the archive ends first. */
  read(length: number): Promise<Buffer | undefined>;
  /** Passes over the next `length` bytes; false when the archive ends first. */
  skip(length: number): Promise<boolean>;
}

export interface TarWalkOptions {
  /** Names the archive in messages. */
  readonly what: string;
  readonly errors: TarErrors;
  /** Refuse headers without the `ustar` magic (pre-POSIX archives). */
  readonly requireUstarMagic: boolean;
  /** Refuse an archive that ends without its end-of-archive block, even right after an entry. */
  readonly requireEndBlock: boolean;
}

export interface TarWalkEntry {
  readonly kind: 'entry';
  /** From the PAX `path` or GNU long name before the header, else the header's own. */
  readonly path: string;
  /** The header's type flag: '0' or NUL a file, '5' a directory, '1' '2' links, '3' '4' devices, 'S' sparse... */
  readonly type: string;
  /** Bytes of content: from the PAX `size` before the header, else the header's own. */
  readonly size: number;
  /** Permission bits. */
  readonly mode: number;
  /** Where the content starts in the archive. */
  readonly dataOffset: number;
  /** Names the entry in messages: `<what>: entry at byte <offset of its header>`. */
  readonly where: string;
}

/** A global PAX header ('g') or a GNU long link name ('K'): a record the walk does not apply, read whole. */
export interface TarRecord {
  readonly kind: 'record';
  readonly type: 'g' | 'K';
  readonly body: Buffer;
  readonly where: string;
}

/** Extension records are read whole: anything larger is not a real archive. */
const MAX_RECORD_SIZE = 1 << 20;

const EXTENSION_RECORDS = new Set(['x', 'g', 'L', 'K']);

/**
 * Yields the archive's entries in order. When the consumer resumes the walk, whatever it left unread of the
 * entry's content is passed over. When the source knows its length, an entry claiming more bytes than are left
 * is refused before anything of it is read.
 */
export async function* walkTar(source: TarSource, options: TarWalkOptions): AsyncGenerator<TarWalkEntry | TarRecord> {
  const { what, errors } = options;
  const truncated = () => errors.malformed(`${what}: the archive is truncated`);
  let pending: PaxAttributes = {};
  for (;;) {
    const offset = source.position;
    const header = await source.read(TAR_BLOCK);
    if (!header) {
      if (!options.requireEndBlock && offset === source.length) return;
      throw errors.malformed(`${what}: the archive ends at byte ${offset} without its end-of-archive block`);
    }
    if (header.every((byte) => byte === 0)) return;
    const where = `${what}: entry at byte ${offset}`;
    if (options.requireUstarMagic && header.toString('latin1', 257, 262) !== 'ustar') throw errors.malformed(`${where} is not a ustar header`);
    const decoded = decodeTarHeader(header, where, errors);
    const isRecord = EXTENSION_RECORDS.has(decoded.type);
    const path = (isRecord ? undefined : pending.path) ?? decoded.name;
    const size = (isRecord ? undefined : pending.size) ?? decoded.size;
    const dataOffset = source.position;
    if (source.length !== undefined && dataOffset + size > source.length) {
      throw errors.unsafe(`${where} ('${path}') claims ${size} bytes, past the end of the ${source.length}-byte archive`);
    }
    if (isRecord) {
      if (size > MAX_RECORD_SIZE) throw errors.unsafe(`${where}: a ${size}-byte '${decoded.type}' header record is not plausible`);
      const record = await source.read(size);
      if (!record) throw truncated();
      if (decoded.type === 'x') pending = { ...pending, ...parsePaxRecords(record, where, errors) };
      else if (decoded.type === 'L') pending = { ...pending, path: decodeLongName(record) };
      else yield { kind: 'record', type: decoded.type as TarRecord['type'], body: record, where };
    } else {
      pending = {};
      yield { kind: 'entry', path, type: decoded.type, size, mode: decoded.mode, dataOffset, where };
    }
    if (!(await source.skip(dataOffset + size + tarPadding(size).length - source.position))) throw truncated();
  }
}
