/**
 * What a terminal must never receive from the data the tool shows: C0 and C1 control characters (ESC, CSI, BEL,
 * CR, backspace...: they clear the screen, move the cursor, recolour, set the title, write the clipboard) and the
 * invisible formatting characters that reorder or hide text (bidi overrides and isolates, zero-width characters).
 * Newlines and tabs are kept where text may span lines (messages); single-line text escapes them too.
 */
/** DEL, the C1 controls and the formatting characters: unsafe everywhere, JSON.stringify leaving them raw. */
const BEYOND_C0 = '\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2060-\\u2069\\ufeff';
const UNSAFE_MULTILINE = new RegExp(`[\\u0000-\\u0008\\u000b-\\u001f${BEYOND_C0}]`, 'g');
const UNSAFE_LINE = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`, 'g');
/** The characters JSON.stringify leaves raw that a terminal acts on (it escapes C0 itself). */
const UNSAFE_IN_JSON = new RegExp(`[${BEYOND_C0}]`, 'g');

const unicodeEscape = (code: number): string => `\\u${code.toString(16).padStart(4, '0')}`;

/** `\x1b` for a C0/C1 control, `\u202e` for the others: visible, and unambiguous to whoever reads the output. */
function visible(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : unicodeEscape(code);
}

/** Text for the terminal: every unsafe character shown as an escape; newlines and tabs kept unless `singleLine`. */
export function escapeControls(text: string, options: { singleLine?: boolean } = {}): string {
  return text.replace(options.singleLine ? UNSAFE_LINE : UNSAFE_MULTILINE, visible);
}

/**
 * One JSON document on one line: JSON.stringify escapes C0 controls and newlines; the C1 controls and formatting
 * characters it leaves raw are written as \u escapes too, which keeps the document valid and its values the same.
 */
export function jsonLine(document: unknown): string {
  return `${JSON.stringify(document).replace(UNSAFE_IN_JSON, (character) => unicodeEscape(character.charCodeAt(0)))}\n`;
}

/** Fields of result documents whose text spans lines by design (error messages, log tails); all others are single-line. */
const MULTILINE_FIELDS = new Set(['message', 'failure', 'logTail']);

/**
 * A copy of a result document with every string made safe for the terminal, for the human renderings: what came from
 * the medium (names, metadata fields, messages quoting them) is shown with its control characters escaped. Errors
 * become `{ name, message }`.
 */
export function safeForTerminal<T>(value: T, multiline = false): T {
  if (typeof value === 'string') return escapeControls(value, { singleLine: !multiline }) as T;
  if (Array.isArray(value)) return value.map((item) => safeForTerminal(item, multiline)) as T;
  if (value instanceof Error) return { name: safeForTerminal(value.name), message: safeForTerminal(value.message, true) } as T;
  if (value !== null && typeof value === 'object' && isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, safeForTerminal(item, MULTILINE_FIELDS.has(key))])) as T;
  }
  return value;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

export interface ColorChoice {
  /** `--color` (true), `--no-color` (false), or neither. */
  readonly flag: boolean | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Whether a stream gets colour: `--color`/`--no-color` decide; else NO_COLOR (any value) turns it off, FORCE_COLOR
 * turns it on (off for `0` or `false`), TERM=dumb turns it off; else colour when the stream is a terminal.
 */
export function useColor(stream: { isTTY?: boolean }, choice: ColorChoice): boolean {
  if (choice.flag !== undefined) return choice.flag;
  const { NO_COLOR, FORCE_COLOR, TERM } = choice.env;
  if (NO_COLOR !== undefined && NO_COLOR !== '') return false;
  if (FORCE_COLOR !== undefined) return FORCE_COLOR !== '0' && FORCE_COLOR !== 'false';
  if (TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** Whether a line can be redrawn in place (`\r`, erase line): a terminal that is not TERM=dumb. */
export function canRedraw(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/**
 * `text` cut to fit `columns` with an ellipsis. One column stays free: a line that fills the last column leaves some
 * terminals waiting to wrap, and the next carriage return then lands on the row below.
 */
export function fitToWidth(text: string, columns: number): string {
  const room = Math.max(1, columns - 1);
  const characters = [...text];
  return characters.length <= room ? text : `${characters.slice(0, room - 1).join('')}…`;
}

// eslint-disable-next-line no-control-regex
const COLOUR = /\u001b\[[0-9;]*m/g;

/** The columns a line takes: its colours take none, a tab up to the next multiple of 8. */
function visibleWidth(text: string): number {
  let width = 0;
  for (const character of text.replace(COLOUR, '')) width = character === '\t' ? width + 8 - (width % 8) : width + 1;
  return width;
}

/**
 * Text for a terminal `columns` wide: each line longer than that is broken between words (a word longer than a line
 * is cut), its continuation indented two columns past the line's own indentation. The terminal would otherwise
 * wrap it mid-word and flush left.
 */
export function wrapToWidth(text: string, columns: number): string {
  return text.split('\n').map((line) => (visibleWidth(line) <= columns ? line : wrapWords(line, columns, line.length - line.trimStart().length + 2))).join('\n');
}

/**
 * `line` broken between words into lines of at most `columns`, each continuation indented by `indent` columns; the
 * spaces between two words on one line are kept as they were (a table row keeps its padding), those at a break go.
 */
export function wrapWords(line: string, columns: number, indent: number): string {
  const margin = ' '.repeat(Math.min(indent, Math.floor(columns / 2)));
  const pieces: string[] = [];
  let current = '';
  const place = (text: string) => {
    current = text;
    while (visibleWidth(current) > columns) {
      const cut = cutAt(current, columns);
      pieces.push(current.slice(0, cut));
      current = margin + current.slice(cut);
    }
  };
  const [first = '', ...rest] = line.split(/((?<=\S) +(?=\S))/);
  place(first);
  for (let index = 0; index < rest.length; index += 2) {
    const [gap, word] = [rest[index]!, rest[index + 1]!];
    if (visibleWidth(current + gap + word) <= columns) {
      current += gap + word;
    } else {
      pieces.push(current);
      place(margin + word);
    }
  }
  return [...pieces, current].join('\n');
}

/** The index in `text` after its first `columns` visible columns. */
function cutAt(text: string, columns: number): number {
  let width = 0;
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '\u001b') {
      const colour = /^\u001b\[[0-9;]*m/.exec(text.slice(index));
      if (colour) {
        index += colour[0].length - 1;
        continue;
      }
    }
    width = text[index] === '\t' ? width + 8 - (width % 8) : width + 1;
    if (width > columns) return index;
  }
  return text.length;
}
