import { InvalidMetadataError } from '../errors.js';
import type { Dialect } from './model.js';

type Quote = (text: string) => string;

/**
 * The byte strings a signature over `value` may cover: JSON with object keys sorted, no whitespace, integers
 * only. The spellings differ in string escaping. The TUF spec uses OLPC canonical JSON, which escapes only `"`
 * and `\`; ota-tuf and aktualizr escape as standard JSON does (`\n`, `\u0001`; every PEM key in a root has
 * newlines, see the aktualizr RSA sample). Both spellings decode to the same value, so for the ota-tuf dialect a
 * signature over either is a signature over that value; the second is only built when they differ.
 */
export function canonicalEncodings(value: unknown, dialect: Dialect, fileName: string): Buffer[] {
  if (dialect === 'tuf-spec') return [encode(value, quoteOlpc, fileName).bytes];
  const standard = encode(value, JSON.stringify, fileName);
  return standard.hasControlCharacters ? [standard.bytes, encode(value, quoteOlpc, fileName).bytes] : [standard.bytes];
}

function quoteOlpc(text: string): string {
  return `"${text.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f]/;

function encode(value: unknown, quote: Quote, fileName: string): { bytes: Buffer; hasControlCharacters: boolean } {
  const sink = new ByteSink();
  let hasControlCharacters = false;
  const quoteAndNote: Quote = (text) => {
    if (!hasControlCharacters && controlCharacter.test(text)) hasControlCharacters = true;
    return quote(text);
  };
  write(value, sink, quoteAndNote, fileName);
  return { bytes: sink.bytes(), hasControlCharacters };
}

/**
 * Collects the encoding as UTF-8 in chunks of about 64 KiB: a large targets.json yields millions of small strings,
 * and holding them all until one join would cost several times the file's size in memory.
 */
class ByteSink {
  private readonly chunks: Buffer[] = [];
  private pending = '';

  push(...texts: string[]): void {
    for (const text of texts) this.pending += text;
    if (this.pending.length >= 1 << 16) this.flush();
  }

  bytes(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }

  private flush(): void {
    if (this.pending) this.chunks.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }
}

function write(value: unknown, parts: ByteSink, quote: Quote, fileName: string): void {
  if (typeof value === 'string') {
    parts.push(quote(value));
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new InvalidMetadataError(`${fileName}: the signed part holds the number ${value}; only integers can be signed`);
    parts.push(String(value));
  } else if (typeof value === 'boolean' || value === null) {
    parts.push(String(value));
  } else if (Array.isArray(value)) {
    parts.push('[');
    value.forEach((item, index) => {
      if (index > 0) parts.push(',');
      write(item, parts, quote, fileName);
    });
    parts.push(']');
  } else {
    const object = value as Record<string, unknown>;
    parts.push('{');
    Object.keys(object)
      .sort()
      .forEach((key, index) => {
        if (index > 0) parts.push(',');
        parts.push(quote(key), ':');
        write(object[key], parts, quote, fileName);
      });
    parts.push('}');
  }
}
