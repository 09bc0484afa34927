import { isUtf8 } from 'node:buffer';
import { InvalidMetadataError } from '../errors.js';

/**
 * Parses JSON like `JSON.parse`, but refuses what `JSON.parse` silently accepts and a verifier must not: objects with
 * duplicate keys (two readers could pick different values for a signed field), bytes that are not valid UTF-8, and
 * nesting deeper than any real document (which would exhaust the stack). Every failure is an InvalidMetadataError
 * naming `fileName`. The bytes are read in place: no decoded copy of the whole document is made.
 */
export function parseStrictJson(bytes: Uint8Array, fileName: string): unknown {
  return new StrictJsonReader(asBuffer(bytes), fileName).readDocument();
}

/** A subtree left unparsed by `parseCanonicalSigned`: its bytes were checked, its value is parsed on demand. */
export class DeferredJson {
  constructor(private readonly bytes: Buffer, private readonly start: number, private readonly end: number, private readonly fileName: string) {}

  /** Parses the subtree; nothing is kept, so that a large document's deferred parts never all live at once. */
  value(): unknown {
    return parseStrictJson(this.bytes.subarray(this.start, this.end), this.fileName);
  }

  /** Parses the subtree (canonical, as it was checked), leaving unparsed in turn the subtrees at the paths, relative to it, that `isDeferred` names. */
  valueDeferring(isDeferred: (path: readonly string[]) => boolean): unknown {
    return new StrictJsonReader(this.bytes.subarray(this.start, this.end), this.fileName, isDeferred, true).readDocument();
  }
}

export interface CanonicalSigned {
  /** The document, with a DeferredJson wherever `isDeferred` said so. */
  readonly document: unknown;
  /** The bytes of the top-level `signed` value, which are its canonical encoding: what a signature covers. */
  readonly signedBytes: Buffer;
}

/**
 * The fast reading of a TUF metadata document whose `signed` value is spelled canonically, as fioctl writes every
 * file: no whitespace, keys in strictly increasing order, integers only, strings escaping nothing but `"` and `\`,
 * no control characters. A signature over the value is then a signature over those very bytes, so no second
 * encoding is built, and the subtrees at the paths `isDeferred` names are checked without being made. Undefined when
 * `signed` is spelled otherwise: the caller then parses the document in full (`parseStrictJson`) and encodes it.
 * Malformed JSON is an InvalidMetadataError either way.
 */
export function parseCanonicalSigned(bytes: Buffer, fileName: string, isDeferred: (path: readonly string[]) => boolean): CanonicalSigned | undefined {
  const reader = new StrictJsonReader(bytes, fileName, isDeferred);
  try {
    const document = reader.readDocument();
    return reader.signedRange ? { document, signedBytes: bytes.subarray(...reader.signedRange) } : undefined;
  } catch (error) {
    if (error instanceof NotCanonical) return undefined;
    throw error;
  }
}

/** Deeper than any metadata, manifest or index; a hostile document nested 32,000 deep is refused, not a stack overflow. */
const MAX_DEPTH = 256;

const enum Byte {
  Tab = 0x09, LineFeed = 0x0a, Return = 0x0d, Space = 0x20, Quote = 0x22, Plus = 0x2b, Comma = 0x2c, Minus = 0x2d,
  Dot = 0x2e, Zero = 0x30, Nine = 0x39, Colon = 0x3a, UpperE = 0x45, OpenSquare = 0x5b, Backslash = 0x5c,
  CloseSquare = 0x5d, LowerE = 0x65, LowerF = 0x66, LowerN = 0x6e, LowerT = 0x74, OpenCurly = 0x7b, CloseCurly = 0x7d,
}

/** UTF-8 lead bytes of code points from U+E000, where UTF-8 byte order and JavaScript's string order part ways. */
const FIRST_BYTE_OUT_OF_ORDER = 0xee;
const BOM = [0xef, 0xbb, 0xbf];
// eslint-disable-next-line no-control-regex
const controlCharacter = /[\u0000-\u001f]/;

/** Thrown inside the reader when `signed` is not canonical, to give up the fast reading. */
class NotCanonical extends Error {}

class StrictJsonReader {
  private position = 0;
  private readonly path: string[] = [];
  /** Inside the top-level `signed` of a canonical reading: keys must increase, anything not canonical gives up. */
  private canonical = false;
  signedRange: [number, number] | undefined;
  /**
   * The last string read: where its content lies and, when it has escapes or bytes from 0xEE (where byte order says
   * nothing of string order), its decoded value. Fields rather than an object: a large document has millions of strings.
   */
  private stringStart = 0;
  private stringEnd = 0;
  private stringDecoded: string | undefined;

  /**
   * With `isDeferred`, a canonical reading of a document (`parseCanonicalSigned`) or, with `canonicalSubtree`, of a
   * subtree already checked in one; without, a strict one (`parseStrictJson`).
   */
  constructor(
    private readonly bytes: Buffer,
    private readonly fileName: string,
    private readonly isDeferred?: (path: readonly string[]) => boolean,
    private readonly canonicalSubtree = false,
  ) {
    this.canonical = canonicalSubtree;
  }

  readDocument(): unknown {
    if (!isUtf8(this.bytes)) throw new InvalidMetadataError(`${this.fileName}: not valid UTF-8`);
    if (BOM.every((byte, index) => this.bytes[index] === byte)) this.position = BOM.length;
    const value = this.readValue(0, true);
    this.skipWhitespace();
    if (this.position !== this.bytes.length) this.fail('unexpected content after the JSON value');
    return value;
  }

  /** Reads one value; with `build` false, checks it without making it. */
  private readValue(depth: number, build: boolean): unknown {
    this.skipWhitespace();
    const byte = this.bytes[this.position];
    switch (byte) {
      case Byte.OpenCurly: return this.readObject(depth + 1, build);
      case Byte.OpenSquare: return this.readArray(depth + 1, build);
      case Byte.Quote:
        this.readString();
        return build ? this.stringValue() : undefined;
      case Byte.LowerT: return this.readLiteral('true', true);
      case Byte.LowerF: return this.readLiteral('false', false);
      case Byte.LowerN: return this.readLiteral('null', null);
      default:
        if (byte === Byte.Minus || (byte !== undefined && byte >= Byte.Zero && byte <= Byte.Nine)) return this.readNumber(build);
        return this.fail(byte === undefined ? 'truncated' : 'unexpected character');
    }
  }

  private readObject(depth: number, build: boolean): Record<string, unknown> | undefined {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`);
    this.position++;
    const object: Record<string, unknown> | undefined = build ? {} : undefined;
    // Canonical keys increase strictly, which rules out duplicates; elsewhere they are collected.
    const keys = this.canonical ? undefined : new Set<string>();
    let previousStart = -1;
    let previousEnd = -1;
    let previousDecoded: string | undefined;
    this.skipWhitespace();
    if (this.bytes[this.position] === Byte.CloseCurly) {
      this.position++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.bytes[this.position] !== Byte.Quote) this.fail('expected a key');
      this.readString();
      const key = build || keys ? this.stringValue() : undefined;
      if (keys) {
        if (keys.has(key!)) this.fail(`duplicate key ${JSON.stringify(key)}`);
        keys.add(key!);
      } else if (previousStart >= 0 && !this.followsKey(previousStart, previousEnd, previousDecoded)) {
        throw new NotCanonical();
      }
      previousStart = this.stringStart;
      previousEnd = this.stringEnd;
      previousDecoded = this.stringDecoded;
      this.skipWhitespace();
      if (this.bytes[this.position] !== Byte.Colon) this.fail("expected ':'");
      this.position++;
      const value = this.readMember(key ?? '', depth, build);
      if (object) {
        // defineProperty keeps "__proto__" an ordinary own property, as JSON.parse does.
        if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
        else object[key!] = value;
      }
      this.skipWhitespace();
      const next = this.bytes[this.position++];
      if (next === Byte.CloseCurly) return object;
      if (next !== Byte.Comma) this.fail(next === undefined ? 'truncated' : "expected ',' or '}'", -1);
    }
  }

  private readMember(key: string, depth: number, build: boolean): unknown {
    if (!build) return this.readValue(depth, false);
    this.path.push(key);
    this.skipWhitespace();
    const entersSigned = depth === 1 && key === 'signed' && this.isDeferred !== undefined && !this.canonicalSubtree;
    if (entersSigned) this.canonical = true;
    const start = this.position;
    let value: unknown;
    if (this.canonical && this.isDeferred!(this.path)) {
      this.readValue(depth, false);
      value = new DeferredJson(this.bytes, start, this.position, this.fileName);
    } else {
      value = this.readValue(depth, true);
    }
    if (entersSigned) {
      this.canonical = false;
      this.signedRange = [start, this.position];
    }
    this.path.pop();
    return value;
  }

  private readArray(depth: number, build: boolean): unknown[] | undefined {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} deep`);
    this.position++;
    const array: unknown[] | undefined = build ? [] : undefined;
    this.skipWhitespace();
    if (this.bytes[this.position] === Byte.CloseSquare) {
      this.position++;
      return array;
    }
    for (;;) {
      const item = this.readValue(depth, build);
      array?.push(item);
      this.skipWhitespace();
      const next = this.bytes[this.position++];
      if (next === Byte.CloseSquare) return array;
      if (next !== Byte.Comma) this.fail(next === undefined ? 'truncated' : "expected ',' or ']'", -1);
    }
  }

  /** Reads a string up to its closing quote; its value is decoded only where it must be. */
  private readString(): void {
    const bytes = this.bytes;
    const start = this.position + 1;
    let end = start;
    let orderedByBytes = true;
    // Fast path: no escapes, which is nearly every string in TUF metadata.
    for (;;) {
      const byte = bytes[end];
      if (byte === Byte.Quote) {
        this.position = end + 1;
        this.setString(start, end, orderedByBytes ? undefined : bytes.toString('utf8', start, end));
        return;
      }
      if (byte === Byte.Backslash) break;
      if (byte === undefined || byte < Byte.Space) this.fail(byte === undefined ? 'truncated string' : 'control character in a string', end - this.position);
      if (byte >= FIRST_BYTE_OUT_OF_ORDER) orderedByBytes = false;
      end++;
    }
    // Slow path: find the closing quote, then let JSON.parse decode the escapes of this one string.
    for (;;) {
      const byte = bytes[end];
      if (byte === undefined) this.fail('truncated string');
      if (byte === Byte.Quote) break;
      end += byte === Byte.Backslash ? 2 : 1;
    }
    const literal = bytes.toString('utf8', this.position, end + 1);
    let decoded: string;
    try {
      decoded = JSON.parse(literal) as string;
    } catch {
      return this.fail('invalid string escape');
    }
    // A canonical spelling escapes `"` and `\` only; with a control character the two spellings of docs/formats.md
    // section 2 differ, and the verifier has to build both.
    if (this.canonical && (literal !== JSON.stringify(decoded) || controlCharacter.test(decoded))) throw new NotCanonical();
    this.position = end + 1;
    this.setString(start, end, decoded);
  }

  private setString(start: number, end: number, decoded: string | undefined): void {
    this.stringStart = start;
    this.stringEnd = end;
    this.stringDecoded = decoded;
  }

  private stringValue(): string {
    return this.stringDecoded ?? this.bytes.toString('utf8', this.stringStart, this.stringEnd);
  }

  /**
   * Whether the last string read sorts after the previous key (its content at `start`..`end`, `decoded` as above) as
   * JavaScript sorts strings (UTF-16 code units), which is the order of canonical JSON.
   */
  private followsKey(start: number, end: number, decoded: string | undefined): boolean {
    const bytes = this.bytes;
    if (decoded !== undefined || this.stringDecoded !== undefined) return (decoded ?? bytes.toString('utf8', start, end)) < this.stringValue();
    const length = Math.min(end - start, this.stringEnd - this.stringStart);
    for (let offset = 0; offset < length; offset++) {
      const a = bytes[start + offset]!;
      const b = bytes[this.stringStart + offset]!;
      if (a !== b) return a < b;
    }
    return end - start < this.stringEnd - this.stringStart;
  }

  private readNumber(build: boolean): number | undefined {
    const bytes = this.bytes;
    const start = this.position;
    let end = start;
    if (bytes[end] === Byte.Minus) end++;
    const leadingZero = bytes[end] === Byte.Zero;
    if (leadingZero) end++;
    else end = this.skipDigits(end, 'digit');
    const integerEnd = end;
    if (bytes[end] === Byte.Dot) end = this.skipDigits(end + 1, 'digit after the decimal point');
    const exponent = bytes[end];
    if (exponent === Byte.LowerE || exponent === Byte.UpperE) {
      end++;
      const sign = bytes[end];
      if (sign === Byte.Plus || sign === Byte.Minus) end++;
      end = this.skipDigits(end, 'exponent digit');
    }
    this.position = end;
    if (this.canonical) {
      // Safe integers written plainly: no fraction, no exponent, no "-0" (up to 15 digits, always safe).
      const negative = bytes[start] === Byte.Minus;
      const digits = integerEnd - start - (negative ? 1 : 0);
      const plain = end === integerEnd && !(negative && leadingZero);
      if (!plain || (digits > 15 && !Number.isSafeInteger(Number(bytes.toString('latin1', start, end))))) throw new NotCanonical();
    }
    return build ? Number(bytes.toString('latin1', start, end)) : undefined;
  }

  private skipDigits(from: number, what: string): number {
    let end = from;
    while (end < this.bytes.length && this.bytes[end]! >= Byte.Zero && this.bytes[end]! <= Byte.Nine) end++;
    if (end === from) {
      this.position = from;
      this.fail(`expected a ${what}`);
    }
    return end;
  }

  private readLiteral<T>(word: string, value: T): T {
    if (this.bytes.toString('latin1', this.position, this.position + word.length) !== word) this.fail('unexpected character');
    this.position += word.length;
    return value;
  }

  private skipWhitespace(): void {
    const bytes = this.bytes;
    let position = this.position;
    for (;;) {
      const byte = bytes[position];
      if (byte !== Byte.Space && byte !== Byte.LineFeed && byte !== Byte.Return && byte !== Byte.Tab) break;
      position++;
    }
    if (position !== this.position && this.canonical) throw new NotCanonical();
    this.position = position;
  }

  private fail(problem: string, offsetFromPosition = 0): never {
    const at = Math.min(this.position + offsetFromPosition, this.bytes.length);
    throw new InvalidMetadataError(`${this.fileName}: invalid JSON at byte ${at}: ${problem}`);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
