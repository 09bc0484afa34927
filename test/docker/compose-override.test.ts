import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { composeOverrideYaml } from '../../lib/docker/compose-override.js';
import { localImageTag } from '../../lib/docker/image-ref.js';

const hexA = 'a'.repeat(64);
const hexB = '0123456789abcdef'.repeat(4);

describe('local image tags', () => {
  test('carry the whole digest, so two images never share one', () => {
    const tag = localImageTag({ repository: 'hub.foundries.io/acme/web', digest: `sha256:${hexB}` });
    assert.deepEqual(tag, { repository: 'hub.foundries.io/acme/web', tag: `sha256-${hexB}`, reference: `hub.foundries.io/acme/web:sha256-${hexB}` });
    assert.notEqual(tag.tag, localImageTag({ repository: 'hub.foundries.io/acme/web', digest: `sha256:${hexB.slice(0, 63)}0` }).tag);
  });
});

describe('composeOverrideYaml', () => {
  test('replaces every service image by its local tag', () => {
    const yaml = composeOverrideYaml({
      web: { repository: 'hub.foundries.io/acme/web', digest: `sha256:${hexA}` },
      db: { repository: 'hub.foundries.io/acme/db', digest: `sha256:${hexB}` },
    });
    assert.deepEqual(parse(yaml), {
      services: {
        web: { image: `hub.foundries.io/acme/web:sha256-${hexA}` },
        db: { image: `hub.foundries.io/acme/db:sha256-${hexB}` },
      },
    });
  });


  test('merges the pins into the app\'s own override, keeping its other settings', () => {
    const own = 'services:\n  web:\n    environment:\n      MODE: kiosk\n  extra:\n    image: busybox\nvolumes:\n  data: {}\n';
    const yaml = composeOverrideYaml({ web: { repository: 'hub.foundries.io/acme/web', digest: `sha256:${hexA}` } }, own);
    assert.deepEqual(parse(yaml), {
      services: {
        web: { environment: { MODE: 'kiosk' }, image: `hub.foundries.io/acme/web:sha256-${hexA}` },
        extra: { image: 'busybox' },
      },
      volumes: { data: {} },
    });
  });
});
