import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidMetadataError } from '../../lib/errors.js';
import { exitCodeForError, ExitCode } from '../../lib/exit-codes.js';
import { parseStrictJson } from '../../lib/tuf/strict-json.js';

function refused(text: string | Buffer, pattern: RegExp): void {
  assert.throws(
    () => parseStrictJson(typeof text === 'string' ? Buffer.from(text) : text, 'tuf/x.json'),
    (error: unknown) => error instanceof InvalidMetadataError && exitCodeForError(error) === ExitCode.invalidMetadata && pattern.test(error.message),
  );
}

describe('strict JSON', () => {
  test('parses what JSON.parse parses, the same way', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\n\\u00e9\\"y"],"b":{"c":{}},"d":[],"__proto__":{"e":1}} ';
    const parsed = parseStrictJson(Buffer.from(text), 'x');
    assert.deepEqual(parsed, JSON.parse(text));
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  });

  test('refuses duplicate keys, at any depth', () => {
    refused('{"signed":{"version":1,"version":2}}', /tuf\/x\.json: .*duplicate key "version"/);
    refused('{"a":1,"a":1}', /duplicate key "a"/);
  });

  test('refuses truncated documents', () => {
    const full = '{"signed":{"_type":"Timestamp","version":1},"signatures":[]}';
    for (const length of [1, 10, 20, 30, full.length - 1]) refused(full.slice(0, length), /tuf\/x\.json: invalid JSON/);
  });

  test('refuses trailing content, bad literals, bad numbers and raw control characters', () => {
    refused('{} {}', /after the JSON value/);
    refused('{"a":tru}', /unexpected character/);
    refused('{"a":01}', /expected ',' or '}'/);
    refused('{"a":1.}', /digit after the decimal point/);
    refused('{"a":"x\ny"}', /control character/);
    refused('{"a":"\\x"}', /invalid string escape/);
  });

  test('refuses bytes that are not UTF-8', () => {
    refused(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), /not valid UTF-8/);
  });
});
