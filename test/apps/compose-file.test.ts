import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseComposeFile } from '../../lib/apps/compose-file.js';
import { ContentVerificationError } from '../../lib/errors.js';
import { exitCodeForError } from '../../lib/exit-codes.js';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('parseComposeFile', () => {
  test('lists services with their digest-pinned images', () => {
    const services = parseComposeFile([
      'services:',
      `  server:\n    image: "hub.foundries.io/acme/web-server@${digest}"`,
      `  client:\n    image: registry.local:5000/a/b__c/d-e@${digest}\n    labels:\n      io.compose-spec.config-hash: "x"`,
    ].join('\n'), 'docker-compose.yml of app web');
    assert.deepEqual(services.map((service) => [service.name, service.image.repository, service.image.digest]), [
      ['server', 'hub.foundries.io/acme/web-server', digest],
      ['client', 'registry.local:5000/a/b__c/d-e', digest],
    ]);
  });

  test('follows YAML merge keys, as compose does', () => {
    const services = parseComposeFile(`x-base: &base\n  image: hub.foundries.io/acme/web@${digest}\nservices:\n  web:\n    <<: *base\n`, 'docker-compose.yml of app web');
    assert.deepEqual(services.map((service) => [service.name, service.image.repository]), [['web', 'hub.foundries.io/acme/web']]);
  });

  const refused: [string, string, RegExp][] = [
    ['a tag', 'services:\n  web:\n    image: hub.foundries.io/acme/web:latest\n', /service "web" has image "hub.foundries.io\/acme\/web:latest", not pinned/],
    ['a tag and a digest with no registry', `services:\n  web:\n    image: web@${digest}\n`, /service "web" has image/],
    ['a short digest', 'services:\n  web:\n    image: hub.foundries.io/acme/web@sha256:abcd\n', /not pinned/],
    ['a build-only service', 'services:\n  web:\n    build: .\n', /service "web" has image undefined/],
    ['duplicate keys', `services:\n  web:\n    image: hub.foundries.io/a/b@${digest}\n  web:\n    image: hub.foundries.io/a/c@${digest}\n`, /not valid YAML/],
    ['no services', 'version: "3"\n', /services: not a JSON object/],
  ];
  for (const [what, text, message] of refused) {
    test(`refuses ${what} (exit 70)`, () => {
      assert.throws(() => parseComposeFile(text, 'docker-compose.yml of app web'), (error: Error) =>
        error instanceof ContentVerificationError && exitCodeForError(error) === 70 && message.test(error.message) &&
        error.message.startsWith('docker-compose.yml of app web'));
    });
  }
});
