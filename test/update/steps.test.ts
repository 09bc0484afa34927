import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appsHandler, rootfsHandler } from '../../lib/update/handlers/index.js';
import { installStepNames, runStepNames } from '../../lib/update/steps.js';

describe('the named steps of an update', () => {
  test('an OSTree update pulls the rootfs before Docker is touched and deploys it only after the commit', () => {
    assert.deepEqual(installStepNames([rootfsHandler, appsHandler]), ['verify', 'space', 'pull-rootfs', 'load', 'stage', 'commit', 'deploy-rootfs']);
    assert.deepEqual(runStepNames([rootfsHandler, appsHandler]), ['mark', 'stop', 'switch', 'start', 'finish', 'clean']);
  });

  test('a container-only update has no rootfs step, a rootfs-only one no app step', () => {
    assert.deepEqual(installStepNames([appsHandler]), ['verify', 'space', 'load', 'stage', 'commit']);
    assert.deepEqual(installStepNames([rootfsHandler]), ['verify', 'space', 'pull-rootfs', 'commit', 'deploy-rootfs']);
    assert.deepEqual(runStepNames([rootfsHandler]), ['mark', 'finish', 'clean']);
  });
});
