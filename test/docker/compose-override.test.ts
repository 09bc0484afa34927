import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { composeOverrideYaml } from '../../lib/docker/compose-override.js';
import { localImageTag, parsePinnedImage } from '../../lib/docker/image-ref.js';
import { InvalidMetadataError } from '../../lib/errors.js';

const hexA = 'a'.repeat(64);
const hexB = '0123456789abcdef'.repeat(4);

describe('pinned image references', () => {
  test('parse into repository and digest, dropping a tag before the digest', () => {
    assert.deepEqual(parsePinnedImage(`hub.foundries.io/acme/web@sha256:${hexA}`), { repository: 'hub.foundries.io/acme/web', digest: `sha256:${hexA}` });
    assert.deepEqual(parsePinnedImage(`localhost:5000/a/b:1.2@sha256:${hexB}`), { repository: 'localhost:5000/a/b', digest: `sha256:${hexB}` });
  });

  test('refuse references without a full sha256 digest', () => {
    for (const reference of ['hub.foundries.io/acme/web:latest', `hub.foundries.io/acme/web@sha256:${hexA.slice(1)}`, `Hub/Web@sha256:${hexA}`]) {
      assert.throws(() => parsePinnedImage(reference), InvalidMetadataError, reference);
    }
  });

  test('local tags carry the whole digest, so two images never share one', () => {
    const tag = localImageTag(parsePinnedImage(`hub.foundries.io/acme/web@sha256:${hexB}`));
    assert.deepEqual(tag, { repository: 'hub.foundries.io/acme/web', tag: `sha256-${hexB}`, reference: `hub.foundries.io/acme/web:sha256-${hexB}` });
    assert.notEqual(tag.tag, localImageTag(parsePinnedImage(`hub.foundries.io/acme/web@sha256:${hexB.slice(0, 63)}0`)).tag);
  });
});

describe('composeOverrideYaml', () => {
  test('replaces every service image by its local tag', () => {
    const yaml = composeOverrideYaml({ web: `hub.foundries.io/acme/web@sha256:${hexA}`, db: `hub.foundries.io/acme/db@sha256:${hexB}` });
    assert.deepEqual(parse(yaml), {
      services: {
        web: { image: `hub.foundries.io/acme/web:sha256-${hexA}` },
        db: { image: `hub.foundries.io/acme/db:sha256-${hexB}` },
      },
    });
  });

  test('refuses a service that is not pinned by digest', () => {
    assert.throws(() => composeOverrideYaml({ web: 'hub.foundries.io/acme/web:1.0' }), InvalidMetadataError);
  });
});
