import { ConfigError } from '../errors.js';

/** A value read from a config file, with where it was read (for messages). */
export interface IniValue {
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

export type IniSection = ReadonlyMap<string, IniValue>;

/** What boost's `isspace` trims around lines, keys and values (the C locale). */
const SPACE = ' \t\n\v\f\r';

function trim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && SPACE.includes(text[start]!)) start++;
  while (end > start && SPACE.includes(text[end - 1]!)) end--;
  return text.slice(start, end);
}

/**
 * Parses a config file the way aktualizr-lite reads every `*.toml` (boost::property_tree::read_ini, which libaktualizr's
 * base_config.cc calls): one `key = value` per line under `[section]` headers, lines starting with `;` or `#` ignored,
 * keys and values trimmed and taken as they are (so `callback_program = /usr/bin/callback-handler` is valid, and
 * `key = value # note` keeps `# note` in the value). Rejected as boost rejects them, with the file and line: a line
 * with neither `[` nor `=`, a line starting with `=`, an unmatched `[`, a key repeated in its section, a section
 * repeated (one left empty is dropped, so repeating it is allowed), a section named like a key before the first
 * section. Returns the sections; keys before the first section are checked but, as in aktualizr, not used.
 */
export function parseIni(text: string, file: string): ReadonlyMap<string, IniSection> {
  const topLevel = new Map<string, IniValue>();
  const sections = new Map<string, Map<string, IniValue>>();
  let current: { name: string; keys: Map<string, IniValue> } | undefined;
  const fail = (line: number, message: string): never => {
    throw new ConfigError(`${file}, line ${line}: ${message} (aktualizr-lite cannot read this file either)`);
  };
  const dropIfEmpty = () => {
    if (current && current.keys.size === 0) sections.delete(current.name);
  };
  text.split('\n').forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = trim(raw);
    if (line === '' || line[0] === ';' || line[0] === '#') return;
    if (line[0] === '[') {
      dropIfEmpty();
      const end = line.indexOf(']');
      if (end < 0) fail(lineNumber, "unmatched '['");
      const name = trim(line.slice(1, end));
      if (sections.has(name) || topLevel.has(name)) fail(lineNumber, `duplicate section name [${name}]`);
      current = { name, keys: new Map() };
      sections.set(name, current.keys);
      return;
    }
    const equals = line.indexOf('=');
    if (equals < 0) fail(lineNumber, "'=' character not found in line");
    if (equals === 0) fail(lineNumber, "key expected before '='");
    const key = trim(line.slice(0, equals));
    const taken = current ? current.keys.has(key) : topLevel.has(key) || sections.has(key);
    if (taken) fail(lineNumber, `duplicate key name '${key}'${current ? ` in [${current.name}]` : ''}`);
    (current?.keys ?? topLevel).set(key, { value: trim(line.slice(equals + 1)), file, line: lineNumber });
  });
  dropIfEmpty();
  return sections;
}
