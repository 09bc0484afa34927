/**
 * The tar format, for the archives fioup-offline reads (bundle tars, app bundles) and writes (bundles, the image
 * stream sent to Docker): ustar headers, PAX `path`/`size` records, GNU base-256 sizes. Readers decide what they
 * accept; this module only encodes and decodes, and reports malformed input through the caller's error classes.
 */

export const TAR_BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

/** Zero bytes that pad `size` bytes of content up to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
}

// --- writing ---------------------------------------------------------------------------------------------

export interface TarEntryHeader {
  readonly path: string;
  /** '0' a regular file, '5' a directory. */
  readonly type: '0' | '5';
  readonly mode: number;
  readonly size: number;
  readonly mtimeSeconds: number;
}

/**
 * The header blocks of one entry, owner 0:0 and no user names: a PAX record first when the name exceeds ustar's
 * limits or the size its octal field. The content and its padding follow, written by the caller.
 */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  const split = splitUstarName(entry.path);
  const records: Array<[string, string]> = [];
  if (!split) records.push(['path', entry.path]);
  if (entry.size > MAX_OCTAL_SIZE) records.push(['size', String(entry.size)]);
  const blocks: Buffer[] = [];
  if (records.length > 0) {
    const pax = paxRecords(records);
    blocks.push(ustarHeader({ name: 'PaxHeader', prefix: '' }, 'x', 0o644, pax.length, entry.mtimeSeconds), pax, tarPadding(pax.length));
  }
  const fitted = split ?? { name: Buffer.from(entry.path).subarray(0, 100).toString('utf8'), prefix: '' };
  blocks.push(ustarHeader(fitted, entry.type, entry.mode, entry.size > MAX_OCTAL_SIZE ? 0 : entry.size, entry.mtimeSeconds));
  return Buffer.concat(blocks);
}

/** ustar keeps names up to 100 bytes, or 155 + '/' + 100 when split at a slash. */
function splitUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  return undefined;
}

function ustarHeader(name: { name: string; prefix: string }, type: string, mode: number, size: number, mtime: number): Buffer {
  const block = Buffer.alloc(TAR_BLOCK);
  block.write(name.name, 0, 100, 'utf8');
  octal(block, 100, 8, mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, mtime);
  block.write(type, 156, 1, 'latin1');
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  block.write(name.prefix, 345, 155, 'utf8');
  block.write(`${headerChecksum(block).toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}

/** `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecords(records: Array<[string, string]>): Buffer {
  return Buffer.concat(records.map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(body) + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return Buffer.from(`${length}${body}`);
  }));
}

/** The header's checksum: its bytes summed with the checksum field counted as spaces. */
function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let index = 0; index < TAR_BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : block[index]!;
  return sum;
}

// --- reading ---------------------------------------------------------------------------------------------

/** How a reader reports problems: a malformed archive, and one that is well formed but dangerous. */
export interface TarErrors {
  malformed(message: string): Error;
  unsafe(message: string): Error;
}

export interface DecodedTarHeader {
  /** The name from the header fields (`prefix/name` in POSIX ustar); PAX or GNU records may replace it. */
  readonly name: string;
  /** The type flag: '0' or NUL a file, '5' a directory, 'x' 'g' PAX, 'L' a GNU long name... */
  readonly type: string;
  readonly size: number;
  /** Permission bits (0o7777 at most). */
  readonly mode: number;
}

/** Decodes a header block after checking its checksum; `where` names it in errors. */
export function decodeTarHeader(block: Buffer, where: string, errors: TarErrors): DecodedTarHeader {
  if (numericField(block, 148, 8, where, errors) !== headerChecksum(block)) throw errors.malformed(`${where} has a bad header checksum`);
  const name = cString(block, 0, 100);
  const isPosixUstar = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isPosixUstar ? cString(block, 345, 155) : '';
  return {
    name: prefix === '' ? name : `${prefix}/${name}`,
    type: String.fromCharCode(block[156]!),
    size: numericField(block, 124, 12, where, errors),
    mode: numericField(block, 100, 8, where, errors) & 0o7777,
  };
}

/** The content of a GNU long-name ('L') record. */
export function decodeLongName(data: Buffer): string {
  return cString(data, 0, data.length);
}

export interface PaxAttributes {
  path?: string;
  size?: number;
}

/** PAX records: `<length> <key>=<value>\n`. Only `path` and `size` matter; sparse-file keys are refused. */
export function parsePaxRecords(data: Buffer, where: string, errors: TarErrors): PaxAttributes {
  const attributes: PaxAttributes = {};
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const length = Number(data.toString('latin1', position, space));
    if (space === -1 || !Number.isSafeInteger(length) || length <= 0 || position + length > data.length || data[position + length - 1] !== 0x0a) {
      throw errors.malformed(`${where} has a malformed PAX record`);
    }
    const record = data.toString('utf8', space + 1, position + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw errors.malformed(`${where} has a malformed PAX record`);
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (key.startsWith('GNU.sparse')) throw errors.unsafe(`${where} is a sparse file`);
    if (key === 'path') attributes.path = value;
    if (key === 'size') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw errors.unsafe(`${where} has an implausible PAX size '${value}'`);
      attributes.size = Number(value);
    }
    position += length;
  }
  return attributes;
}

function cString(buffer: Buffer, start: number, length: number): string {
  const field = buffer.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
}

/** An octal field, or GNU's base-256 form (first byte with the high bit set) for values over 8 GiB. */
function numericField(header: Buffer, start: number, length: number, where: string, errors: TarErrors): number {
  const field = header.subarray(start, start + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw errors.malformed(`${where} has a negative numeric field`);
    let value = BigInt(field[0]! & 0x7f);
    for (let index = 1; index < length; index++) value = (value << 8n) | BigInt(field[index]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw errors.unsafe(`${where} has an implausible size`);
    return Number(value);
  }
  // Octal digits, after spaces and before NULs or spaces: 12 digits at most, exact in a double.
  let index = 0;
  while (index < length && field[index] === 0x20) index++;
  let value = 0;
  for (; index < length && field[index]! >= 0x30 && field[index]! <= 0x37; index++) value = value * 8 + field[index]! - 0x30;
  for (; index < length; index++) if (field[index] !== 0 && field[index] !== 0x20) throw errors.malformed(`${where} has a malformed numeric field`);
  return value;
}
