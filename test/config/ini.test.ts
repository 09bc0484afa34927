import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseIni } from '../../lib/config/ini.js';
import { ConfigError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';

const values = (text: string) =>
  Object.fromEntries([...parseIni(text, 'x.toml')].map(([section, keys]) => [section, Object.fromEntries([...keys].map(([key, entry]) => [key, entry.value]))]));

function rejected(text: string, pattern: RegExp): void {
  assert.throws(() => parseIni(text, '/etc/sota/conf.d/50-x.toml'), (error: unknown) =>
    error instanceof ConfigError && exitCodeForError(error) === 1 && pattern.test(error.message));
}

describe("boost's INI rules, as aktualizr-lite reads config files", () => {
  test('values are taken as written: unquoted, quoted (quotes are stripped later), trimmed, inline # kept', () => {
    assert.deepEqual(values([
      '[pacman]',
      'callback_program = /usr/bin/callback-handler',
      '  tags="devel main"  ',
      'compose_apps =',
      'os = lmp # the OS name',
      '\t[storage]\t',
      'path = /var/sota\r',
    ].join('\n')), {
      pacman: { callback_program: '/usr/bin/callback-handler', tags: '"devel main"', compose_apps: '', os: 'lmp # the OS name' },
      storage: { path: '/var/sota' },
    });
  });

  test('comments start a line with # or ;, blank lines are skipped, text after ] is ignored', () => {
    assert.deepEqual(values('# a comment\n; another\n\n[pacman] trailing words\n  # indented comment\ntags = main\n'), { pacman: { tags: 'main' } });
  });

  test('TOML that is not INI-shaped is refused with the file and line, as aktualizr-lite refuses it', () => {
    rejected('[pacman]\ntags = [\n  "main",\n]\n', /50-x\.toml, line 3: '=' character not found in line/);
    rejected('[pacman\ntags = main\n', /line 1: unmatched '\['/);
    rejected('[pacman]\n= main\n', /line 2: key expected/);
    rejected('[pacman]\ntags = a\ntags = b\n', /line 3: duplicate key name 'tags' in \[pacman\]/);
    rejected('[pacman]\ntags = a\n[pacman]\nos = b\n', /line 3: duplicate section name \[pacman\]/);
    rejected('pacman = x\n[pacman]\ntags = a\n', /line 2: duplicate section name \[pacman\]/);
  });

  test('a section left empty is dropped, so it may appear again; the same key in two sections is two keys', () => {
    assert.deepEqual(values('[pacman]\n# nothing yet\n[pacman]\ntags = a\n[storage]\ntags = b\n'), { pacman: { tags: 'a' }, storage: { tags: 'b' } });
  });

  test('every value knows where it was read', () => {
    const entry = parseIni('\n[pacman]\n\ntags = main\n', 'snippet.toml').get('pacman')!.get('tags')!;
    assert.deepEqual(entry, { value: 'main', file: 'snippet.toml', line: 4 });
  });
});
