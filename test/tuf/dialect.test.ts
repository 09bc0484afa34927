import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseTargets } from '../../lib/tuf/dialect.js';
import { buildRepo, definition, targetsOf, Workspace } from './helpers.js';

const workspace = new Workspace();
after(() => workspace.cleanUp());

describe('targets metadata as read for verification', () => {
  test('fioctl-style canonical bytes are verified in place; custom fields are parsed when read, as they were signed', async () => {
    const repo = await buildRepo(workspace, 'canonical', { targets: targetsOf([definition('amd64-linux', 1), definition('amd64-linux', 2)]) });
    const bytes = await readFile(join(repo.mediumDir, 'tuf/targets.json'));
    const targets = parseTargets(bytes, 'targets.json');
    assert.equal(targets.signedForms.length, 1);
    const [signed] = targets.signedForms;
    assert.ok(signed!.buffer === bytes.buffer && signed!.byteOffset > bytes.byteOffset, 'the signed bytes are a view of the file, not a second copy');
    const expected = (JSON.parse(bytes.toString()) as { signed: { targets: Record<string, { custom: unknown }> } }).signed.targets;
    for (const [name, entry] of targets.fields.targets) assert.deepEqual(entry.custom, expected[name]!.custom);
  });

  test('the same metadata pretty-printed is encoded again, to the very bytes that were signed', async () => {
    const repo = await buildRepo(workspace, 'pretty');
    const bytes = await readFile(join(repo.mediumDir, 'tuf/targets.json'));
    const pretty = Buffer.from(JSON.stringify(JSON.parse(bytes.toString()), null, 3));
    const [reencoded] = parseTargets(pretty, 'targets.json').signedForms;
    assert.equal(pretty.indexOf(reencoded!), -1, 'not a view of the pretty file');
    assert.deepEqual(reencoded, parseTargets(bytes, 'targets.json').signedForms[0]);
  });
});
