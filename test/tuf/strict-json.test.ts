import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidMetadataError } from '../../lib/errors.js';
import { exitCodeForError, ExitCode } from '../../lib/exit-codes.js';
import { DeferredJson, parseCanonicalSigned, parseStrictJson } from '../../lib/tuf/strict-json.js';

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

describe('canonical signed documents', () => {
  const canonical = '{"signatures":[{"keyid":"k","sig":"s"}],"signed":{"_type":"Targets","targets":{"a":{"custom":{"v":"1"},"length":0}},"version":2}}';
  const deferCustom = (path: readonly string[]) => path.length === 4 && path[3] === 'custom';
  const read = (text: string) => parseCanonicalSigned(Buffer.from(text), 'tuf/x.json', deferCustom);

  test('canonical `signed` bytes are returned as a view of the document, not a copy', () => {
    const bytes = Buffer.from(canonical);
    const signed = parseCanonicalSigned(bytes, 'x', deferCustom)?.signedBytes;
    assert.equal(signed?.toString(), canonical.slice(canonical.indexOf('{"_type"'), -1));
    assert.ok(signed?.buffer === bytes.buffer && signed.byteOffset > bytes.byteOffset, 'a view of the same memory');
  });

  test('whitespace, unsorted or repeated keys, non-integers and needless escapes in `signed` give up the fast reading', () => {
    for (const variant of [
      canonical.replace('"version":2', '"version": 2'),
      canonical.replace('{"_type":"Targets",', '{"version":1,"_type":"Targets",'),
      canonical.replace('{"v":"1"}', '{"v":"1","v":"2"}'),
      canonical.replace('{"v":"1"}', '{"w":"1","v":"2"}'),
      canonical.replace('"version":2', '"version":2.0'),
      canonical.replace('"version":2', '"version":-0'),
      canonical.replace('"version":2', '"version":12345678901234567890'),
      canonical.replace('"v":"1"', '"v":"\\u0031"'),
      canonical.replace('"v":"1"', '"v":"\\n"'),
    ]) {
      assert.notEqual(variant, canonical);
      assert.equal(read(variant), undefined, variant);
    }
    assert.ok(read(canonical.replace('"signatures":[', '"signatures": [')), 'whitespace outside `signed` does not matter');
    assert.ok(read(canonical.replace('"v":"1"', '"v":"a\\"b\\\\c"')), 'quotes and backslashes are escaped in every spelling');
  });

  test('malformed JSON is refused, canonical or not', () => {
    assert.throws(() => read(canonical.slice(0, -3)), (error: unknown) => error instanceof InvalidMetadataError && /invalid JSON/.test((error as Error).message));
    assert.throws(() => read(canonical.replace('"length":0', '"length":0,')), InvalidMetadataError);
  });

  test('a deferred subtree is checked at once and parsed only on demand', () => {
    const custom = (read(canonical)?.document as { signed: { targets: { a: { custom: DeferredJson } } } }).signed.targets.a.custom;
    assert.ok(custom instanceof DeferredJson);
    assert.deepEqual(custom.value(), { v: '1' });
  });

  test('nesting deeper than any real document is refused as invalid metadata, not a stack overflow', () => {
    refused(`${'['.repeat(32_000)}${']'.repeat(32_000)}`, /nested more than 256 deep/);
    refused(`{"a":${'{"a":'.repeat(300)}1${'}'.repeat(301)}`, /nested more than 256 deep/);
  });
});
