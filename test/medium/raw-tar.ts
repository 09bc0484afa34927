/**
 * Hand-made tar archives for the hostile-input tests: every header field is the caller's choice, including
 * the ones a well-behaved writer would never produce (a size larger than the data, links, devices).
 */
export interface RawTarEntry {
  name: string;
  /** ustar type flag: '0' file, '5' directory, '1' hard link, '2' symlink, '3'/'4' devices, '6' FIFO, 'x' PAX, 'S' sparse. */
  type?: string;
  data?: Buffer;
  /** The size written in the header; default: the data's length. */
  headerSize?: number;
  linkName?: string;
}

export function rawTar(entries: RawTarEntry[], options: { trailer?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    blocks.push(rawHeader(entry.name, entry.type ?? '0', entry.headerSize ?? data.length, entry.linkName ?? ''));
    blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (options.trailer ?? true) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function paxEntry(records: Record<string, string>): RawTarEntry {
  const data = Buffer.concat(Object.entries(records).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (String(length).length + body.length !== length) length++;
    return Buffer.from(`${length}${body}`);
  }));
  return { name: 'PaxHeader', type: 'x', data };
}

function rawHeader(name: string, type: string, size: number, linkName: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(type, 156, 'latin1');
  block.write(linkName, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}
