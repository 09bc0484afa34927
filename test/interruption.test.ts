import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { afterInterruption } from '../lib/interruption.js';
import { commonStepNames } from '../lib/update/steps.js';

const at = (current: string | undefined, ...done: string[]) => ({ current, done: new Set(done) });
const { mark, finish, clean } = commonStepNames.run;

describe('what an interrupted command leaves, and what to run next', () => {
  test('install: before its commit nothing is installed; after it, the installation is recorded', () => {
    assert.match(afterInterruption('install', at('load')), /^install interrupted \(during load\): nothing is installed yet/);
    assert.match(afterInterruption('install', at('stage', commonStepNames.install.commit)), /the installation is recorded but not completely staged/);
  });

  test('run: before the mark nothing changed; from the mark the switch is half done; from finish on the target is current', () => {
    assert.match(afterInterruption('run', at(undefined)), /before it changed anything/);
    assert.match(afterInterruption('run', at(mark)), /the switch to the new target is half done/);
    assert.match(afterInterruption('run', at('start', mark, 'stop', 'switch')), /the switch to the new target is half done/);
    assert.match(afterInterruption('run', at(finish, mark, 'start')), /while it recorded the new target/);
    for (const where of [at(clean, mark, 'start', finish), at(undefined, mark, 'start', finish)]) {
      assert.equal(afterInterruption('run', where),
        "run interrupted while it removed what the previous target used: the new target is current; run 'fioup-offline run' again to finish the clean-up");
    }
    // A resumed clean-up reports clean alone.
    assert.match(afterInterruption('run', at(clean)), /the new target is current/);
  });
});
