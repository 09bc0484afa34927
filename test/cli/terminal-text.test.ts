import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeControls, fitToWidth, jsonLine, safeForTerminal, useColor, wrapToWidth, wrapWords } from '../../cli/terminal.js';
import { C1_TERMINAL_ATTACK, TERMINAL_ATTACK } from '../../fixtures/hostile.js';

// Every character a terminal acts on: C0 but newline and tab, DEL, C1, and the invisible formatting ones.
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/;

describe('text for the terminal', () => {
  test('escape sequences, C1 controls, carriage returns and bidi overrides are shown, not obeyed', () => {
    assert.equal(escapeControls(TERMINAL_ATTACK), '\\x1b[2J\\x1b[H\\x1b[1;32mOK: update verified\\x1b[0m');
    assert.equal(escapeControls(C1_TERMINAL_ATTACK), '\\x9b2J\\x9b1;32mOK: update verified\\x9b0m');
    assert.equal(escapeControls('name\rOK\u0007\u202egnp.exe\u200b'), 'name\\x0dOK\\x07\\u202egnp.exe\\u200b');
    for (let code = 0; code < 0x10000; code++) {
      const character = String.fromCharCode(code);
      if (code >= 0xd800 && code <= 0xdfff) continue;
      assert.doesNotMatch(escapeControls(character, { singleLine: true }), ACTIVE, `U+${code.toString(16)}`);
    }
  });

  test('newlines and tabs stay in messages, and are escaped in single-line text', () => {
    assert.equal(escapeControls('line one\n\tline two'), 'line one\n\tline two');
    assert.equal(escapeControls('line one\n\tline two', { singleLine: true }), 'line one\\x0a\\x09line two');
  });

  test('JSON stays valid and keeps every value, with nothing raw a terminal acts on', () => {
    const document = { name: TERMINAL_ATTACK, c1: C1_TERMINAL_ATTACK, bidi: 'a\u202eb', nested: [{ line: 'x\u2028y' }] };
    const line = jsonLine(document);
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    assert.doesNotMatch(line, ACTIVE);
    assert.deepEqual(JSON.parse(line), document);
  });

  test('result documents: every string escaped, newlines only in messages, failures and log tails; errors become name and message', () => {
    const safe = safeForTerminal({
      name: `x\n${TERMINAL_ATTACK}`,
      rows: [{ name: C1_TERMINAL_ATTACK, version: 3, installable: true, missing: undefined }],
      failure: 'app failed; its last log lines:\nboom\u001b[2J',
      error: new Error(`target ${TERMINAL_ATTACK}\nsecond line`),
    });
    assert.equal(safe.name, 'x\\x0a\\x1b[2J\\x1b[H\\x1b[1;32mOK: update verified\\x1b[0m');
    assert.deepEqual(safe.rows, [{ name: '\\x9b2J\\x9b1;32mOK: update verified\\x9b0m', version: 3, installable: true, missing: undefined }]);
    assert.equal(safe.failure, 'app failed; its last log lines:\nboom\\x1b[2J');
    assert.deepEqual(safe.error, { name: 'Error', message: 'target \\x1b[2J\\x1b[H\\x1b[1;32mOK: update verified\\x1b[0m\nsecond line' });
  });

  test('a line is cut to the width with an ellipsis, one column spare; text is wrapped between words, colours taking no room', () => {
    assert.equal(fitToWidth('0123456789', 80), '0123456789');
    assert.equal(fitToWidth('0123456789', 8), '012345…');
    assert.equal([...fitToWidth('x'.repeat(200), 80)].length, 79);
    const text = `warning: ${'word '.repeat(30)}and \u001b[33mcoloured\u001b[39m ${'y'.repeat(100)}`;
    const wrapped = wrapToWidth(text, 40).split('\n');
    // eslint-disable-next-line no-control-regex
    for (const line of wrapped) assert.ok(line.replace(/\u001b\[[0-9;]*m/g, '').length <= 40, line);
    assert.ok(wrapped.slice(1).every((line) => line.startsWith('  ')), 'continuations are indented');
    assert.equal(wrapped.join('').replace(/ /g, ''), text.replace(/ /g, ''), 'nothing lost');
    assert.equal(wrapToWidth('short\nlines', 40), 'short\nlines');
  });

  test('a wrapped table row keeps the padding between its columns; the spaces at a break go', () => {
    const row = `  web      42    ${'missing '.repeat(6).trim()}`;
    const [first, ...continued] = wrapToWidth(row, 40).split('\n');
    assert.equal(first, '  web      42    missing missing missing');
    assert.deepEqual(continued, ['    missing missing missing']);
    assert.equal(wrapWords('0    a meaning that goes on', 17, 5), '0    a meaning\n     that goes on');
  });

  test('colour per stream: --color and --no-color decide, then NO_COLOR, FORCE_COLOR, TERM=dumb, then whether it is a terminal', () => {
    const terminal = { isTTY: true };
    const pipe = { isTTY: false };
    assert.equal(useColor(terminal, { flag: undefined, env: {} }), true);
    assert.equal(useColor(pipe, { flag: undefined, env: {} }), false);
    assert.equal(useColor(terminal, { flag: false, env: { FORCE_COLOR: '1' } }), false);
    assert.equal(useColor(pipe, { flag: true, env: { NO_COLOR: '1' } }), true);
    assert.equal(useColor(terminal, { flag: undefined, env: { NO_COLOR: '1' } }), false);
    assert.equal(useColor(terminal, { flag: undefined, env: { NO_COLOR: '' } }), true, 'an empty NO_COLOR is unset (no-color.org)');
    assert.equal(useColor(pipe, { flag: undefined, env: { FORCE_COLOR: '1' } }), true);
    assert.equal(useColor(terminal, { flag: undefined, env: { FORCE_COLOR: '0' } }), false);
    assert.equal(useColor(terminal, { flag: undefined, env: { TERM: 'dumb' } }), false);
    assert.equal(useColor(pipe, { flag: undefined, env: { TERM: 'dumb', FORCE_COLOR: '1' } }), true);
  });
});
