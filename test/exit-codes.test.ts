import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as errors from '../lib/errors.js';
import { errorExitCodes, exitCodeForError, ExitCode } from '../lib/exit-codes.js';

const errorClasses = Object.values(errors).filter((value): value is typeof errors.FioupError =>
  typeof value === 'function' && (value === errors.FioupError || value.prototype instanceof errors.FioupError));

describe('exit codes', () => {
  test('every error class of errors.ts has its own row in the table', () => {
    assert.ok(errorClasses.length > 20);
    for (const errorClass of errorClasses) assert.ok(errorExitCodes.has(errorClass), `${errorClass.name} is not in the exit-code table`);
  });

  test('an error takes the code of its class, whatever its ancestors map to', () => {
    for (const [errorClass, code] of errorExitCodes) assert.equal(exitCodeForError(Object.create(errorClass.prototype)), code, errorClass.name);
    assert.equal(exitCodeForError(new errors.RollbackError('older')), ExitCode.security);
    assert.equal(exitCodeForError(new errors.FileTooLargeError('tuf/targets.json', 10, 5)), ExitCode.invalidMetadata);
    assert.equal(exitCodeForError(new errors.OstreeCommandError(['pull'], 'no such commit', new Error('exit 1'))), ExitCode.other);
  });

  test('anything else is 1', () => {
    assert.equal(exitCodeForError(new TypeError('a bug')), ExitCode.other);
    assert.equal(exitCodeForError('a string'), ExitCode.other);
    assert.equal(exitCodeForError(undefined), ExitCode.other);
  });
});
