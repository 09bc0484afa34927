import { InvalidMetadataError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses JSON like `JSON.parse`, but refuses what `JSON.parse` silently accepts and a verifier must not:
 * objects with duplicate keys (two readers could pick different values for a signed field) and bytes that are
 * not valid UTF-8. Every failure is an InvalidMetadataError naming `fileName`.
 */
export function parseStrictJson(bytes: Uint8Array, fileName: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InvalidMetadataError(`${fileName}: not valid UTF-8`);
  }
  return new StrictJsonParser(text, fileName).parseDocument();
}

const enum Char {
  Tab = 0x09, LineFeed = 0x0a, Return = 0x0d, Space = 0x20, Quote = 0x22, Plus = 0x2b, Comma = 0x2c, Minus = 0x2d,
  Dot = 0x2e, Zero = 0x30, Nine = 0x39, Colon = 0x3a, UpperE = 0x45, OpenSquare = 0x5b, Backslash = 0x5c,
  CloseSquare = 0x5d, LowerE = 0x65, LowerF = 0x66, LowerN = 0x6e, LowerT = 0x74, OpenCurly = 0x7b, CloseCurly = 0x7d,
}

class StrictJsonParser {
  private position = 0;

  constructor(private readonly text: string, private readonly fileName: string) {}

  parseDocument(): unknown {
    if (this.text.charCodeAt(0) === 0xfeff) this.position = 1;
    const value = this.parseValue();
    this.skipWhitespace();
    if (this.position !== this.text.length) this.fail('unexpected content after the JSON value');
    return value;
  }

  private parseValue(): unknown {
    this.skipWhitespace();
    const char = this.text.charCodeAt(this.position);
    switch (char) {
      case Char.OpenCurly: return this.parseObject();
      case Char.OpenSquare: return this.parseArray();
      case Char.Quote: return this.parseString();
      case Char.LowerT: return this.parseLiteral('true', true);
      case Char.LowerF: return this.parseLiteral('false', false);
      case Char.LowerN: return this.parseLiteral('null', null);
      default:
        if (char === Char.Minus || (char >= Char.Zero && char <= Char.Nine)) return this.parseNumber();
        return this.fail(Number.isNaN(char) ? 'truncated' : 'unexpected character');
    }
  }

  private parseObject(): Record<string, unknown> {
    this.position++;
    const object: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === Char.CloseCurly) {
      this.position++;
      return object;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== Char.Quote) this.fail('expected a key');
      const key = this.parseString();
      if (Object.hasOwn(object, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== Char.Colon) this.fail("expected ':'");
      this.position++;
      const value = this.parseValue();
      // defineProperty keeps "__proto__" an ordinary own property, as JSON.parse does.
      if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      else object[key] = value;
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.position++);
      if (next === Char.CloseCurly) return object;
      if (next !== Char.Comma) this.fail(Number.isNaN(next) ? 'truncated' : "expected ',' or '}'", -1);
    }
  }

  private parseArray(): unknown[] {
    this.position++;
    const array: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === Char.CloseSquare) {
      this.position++;
      return array;
    }
    for (;;) {
      array.push(this.parseValue());
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.position++);
      if (next === Char.CloseSquare) return array;
      if (next !== Char.Comma) this.fail(Number.isNaN(next) ? 'truncated' : "expected ',' or ']'", -1);
    }
  }

  private parseString(): string {
    const start = this.position + 1;
    let end = start;
    const text = this.text;
    // Fast path: no escapes, which is nearly every string in TUF metadata.
    for (;;) {
      const char = text.charCodeAt(end);
      if (char === Char.Quote) {
        this.position = end + 1;
        return text.slice(start, end);
      }
      if (char === Char.Backslash) break;
      if (!(char >= Char.Space)) this.fail(Number.isNaN(char) ? 'truncated string' : 'control character in a string', end - this.position);
      end++;
    }
    // Slow path: find the closing quote, then let JSON.parse decode the escapes of this one string.
    for (;;) {
      const char = text.charCodeAt(end);
      if (Number.isNaN(char)) this.fail('truncated string');
      if (char === Char.Quote) break;
      end += char === Char.Backslash ? 2 : 1;
    }
    const literal = text.slice(this.position, end + 1);
    try {
      const decoded = JSON.parse(literal) as string;
      this.position = end + 1;
      return decoded;
    } catch {
      return this.fail('invalid string escape');
    }
  }

  private parseNumber(): number {
    const text = this.text;
    const start = this.position;
    let end = start;
    if (text.charCodeAt(end) === Char.Minus) end++;
    const firstDigit = text.charCodeAt(end);
    if (firstDigit === Char.Zero) end++;
    else end = this.skipDigits(end, 'digit');
    if (text.charCodeAt(end) === Char.Dot) end = this.skipDigits(end + 1, 'digit after the decimal point');
    const exponent = text.charCodeAt(end);
    if (exponent === Char.LowerE || exponent === Char.UpperE) {
      end++;
      const sign = text.charCodeAt(end);
      if (sign === Char.Plus || sign === Char.Minus) end++;
      end = this.skipDigits(end, 'exponent digit');
    }
    this.position = end;
    return Number(text.slice(start, end));
  }

  private skipDigits(from: number, what: string): number {
    let end = from;
    while (end < this.text.length && this.text.charCodeAt(end) >= Char.Zero && this.text.charCodeAt(end) <= Char.Nine) end++;
    if (end === from) {
      this.position = from;
      this.fail(`expected a ${what}`);
    }
    return end;
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.position)) this.fail('unexpected character');
    this.position += word.length;
    return value;
  }

  private skipWhitespace(): void {
    const text = this.text;
    let position = this.position;
    for (;;) {
      const char = text.charCodeAt(position);
      if (char !== Char.Space && char !== Char.LineFeed && char !== Char.Return && char !== Char.Tab) break;
      position++;
    }
    this.position = position;
  }

  private fail(problem: string, offsetFromPosition = 0): never {
    const at = Math.min(this.position + offsetFromPosition, this.text.length);
    throw new InvalidMetadataError(`${this.fileName}: invalid JSON at character ${at}: ${problem}`);
  }
}
