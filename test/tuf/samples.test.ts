import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exitCodeForError, ExitCode } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { parseRoot } from '../../lib/tuf/dialect.js';
import { requireThreshold } from '../../lib/tuf/signatures.js';
import { verifyMedium } from '../../lib/tuf/verify-medium.js';
import { referenceNow, Workspace } from './helpers.js';

// Real ota-tuf metadata signed by the aktualizr project (see the README beside the samples).
const samples = '/work/shared/reference/samples/aktualizr-tuf';
const workspace = new Workspace();
after(() => workspace.cleanUp());

let mediumDir: string;
before(async () => {
  mediumDir = await workspace.dir('sample1');
  await mkdir(join(mediumDir, 'tuf'), { recursive: true });
  for (const name of ['timestamp.json', 'snapshot.json', 'targets.json']) await cp(join(samples, 'sample1', name), join(mediumDir, 'tuf', name));
});

async function verifySample1() {
  const root = { fileName: 'sample1/root.json', bytes: await readFile(join(samples, 'sample1/root.json')) };
  return verifyMedium(new DirectoryMedium(mediumDir), { roots: [root], previous: {} }, { deviceType: 'ci', tags: [] }, referenceNow);
}

/** Positions of letters and digits inside the `signed` part of a file: changing any of them changes a signed byte. */
function signedPositions(text: string, step: number): number[] {
  const start = text.indexOf('"signed"');
  const positions: number[] = [];
  for (let index = start + 9; index < text.length; index += step) {
    while (index < text.length && !/[0-9A-Za-z]/.test(text[index]!)) index++;
    if (index < text.length) positions.push(index);
  }
  return positions;
}

function mutate(text: string, position: number): string {
  const char = text[position]!;
  const replacement = /[0-9]/.test(char) ? String((Number(char) + 1) % 10) : char === 'a' ? 'b' : char === 'A' ? 'B' : char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase();
  return text.slice(0, position) + replacement + text.slice(position + 1);
}

describe('aktualizr samples', () => {
  test('sample1 (ed25519, capitalised _type, base64 signatures) verifies as it is', async () => {
    const verified = await verifySample1();
    assert.equal(verified.targets.fields.targets.has('targets/file.txt'), true);
    assert.equal(verified.timestamp?.fields.version, 1);
    assert.match(verified.warnings.join(), /bundle-targets\.json not found/);
  });

  test('the RSA-PSS root (PEM keys, salt 32) verifies its own signature as it is', async () => {
    const root = parseRoot(await readFile(join(samples, 'rsassa-pss-sha256/root.json')), 'rsa root');
    requireThreshold(root, root, 'root');
  });

  for (const name of ['timestamp.json', 'snapshot.json', 'targets.json']) {
    test(`changing any signed byte of sample1 ${name} is refused`, async () => {
      const original = await readFile(join(samples, 'sample1', name), 'utf8');
      const positions = signedPositions(original, Math.max(3, Math.floor(original.length / 60)));
      assert.ok(positions.length > 20);
      try {
        for (const position of positions) {
          await writeFile(join(mediumDir, 'tuf', name), mutate(original, position));
          const error = await verifySample1().then(() => undefined, (caught: unknown) => caught);
          assert.ok(error, `a change at character ${position} went unnoticed`);
          assert.ok([ExitCode.security, ExitCode.invalidMetadata].includes(exitCodeForError(error) as 11 | 15), String(error));
        }
      } finally {
        await writeFile(join(mediumDir, 'tuf', name), original);
      }
    });
  }

  for (const path of ['sample1/root.json', 'rsassa-pss-sha256/root.json']) {
    test(`changing any signed byte of ${path} breaks its self-signature`, async () => {
      const original = await readFile(join(samples, path), 'utf8');
      for (const position of signedPositions(original, 41)) {
        const error = (() => {
          try {
            const root = parseRoot(Buffer.from(mutate(original, position)), path);
            requireThreshold(root, root, 'root');
            return undefined;
          } catch (caught) {
            return caught;
          }
        })();
        assert.ok(error, `a change at character ${position} went unnoticed`);
        assert.ok([ExitCode.security, ExitCode.invalidMetadata].includes(exitCodeForError(error) as 11 | 15), String(error));
      }
    });
  }
});
