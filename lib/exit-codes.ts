import * as errors from './errors.js';

/**
 * aklite-offline's exit codes (FORMATS.md section 7), in one place. Errors map by class (the most specific
 * class listed first wins); successful outcomes that still need the caller to act map by name.
 */
export const ExitCode = {
  ok: 0,
  other: 1,
  usage: 2,
  noMatchingTarget: 6,
  contentMissing: 8,
  security: 11,
  expired: 12,
  metadataNotFound: 14,
  invalidMetadata: 15,
  updateAvailable: 16,
  appsNeedSync: 17,
  targetNotFound: 20,
  installationPending: 30,
  nothingPending: 40,
  insufficientSpace: 60,
  contentVerification: 70,
  imageLoad: 80,
  rolledBack: 99,
  rebootRequired: 100,
  restartDocker: 101,
  downgradeRefused: 102,
  rollbackFailed: 120,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const errorTable: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, ExitCodeValue]> = [
  [errors.UsageError, ExitCode.usage],
  [errors.NoMatchingTargetError, ExitCode.noMatchingTarget],
  [errors.ContentMissingError, ExitCode.contentMissing],
  [errors.SecurityError, ExitCode.security],
  [errors.UnsafePathError, ExitCode.security],
  [errors.ExpiredMetadataError, ExitCode.expired],
  [errors.MetadataNotFoundError, ExitCode.metadataNotFound],
  [errors.MediumNotFoundError, ExitCode.metadataNotFound],
  [errors.InvalidMetadataError, ExitCode.invalidMetadata],
  [errors.TargetNotFoundError, ExitCode.targetNotFound],
  [errors.InstallationPendingError, ExitCode.installationPending],
  [errors.NothingPendingError, ExitCode.nothingPending],
  [errors.InsufficientSpaceError, ExitCode.insufficientSpace],
  [errors.ContentVerificationError, ExitCode.contentVerification],
  [errors.ImageLoadError, ExitCode.imageLoad],
  [errors.DowngradeRefusedError, ExitCode.downgradeRefused],
  [errors.RollbackFailedError, ExitCode.rollbackFailed],
];

export function exitCodeForError(error: unknown): ExitCodeValue {
  for (const [errorClass, code] of errorTable) {
    if (error instanceof errorClass) return code;
  }
  return ExitCode.other;
}

/** Results of commands that succeeded but ask the caller for a next step, or report what they found. */
export type Outcome =
  | 'done'
  | 'up-to-date'
  | 'update-available'
  | 'apps-need-sync'
  | 'restart-docker'
  | 'reboot-required'
  | 'rolled-back';

const outcomeTable: Record<Outcome, ExitCodeValue> = {
  'done': ExitCode.ok,
  'up-to-date': ExitCode.ok,
  'update-available': ExitCode.updateAvailable,
  'apps-need-sync': ExitCode.appsNeedSync,
  'restart-docker': ExitCode.restartDocker,
  'reboot-required': ExitCode.rebootRequired,
  'rolled-back': ExitCode.rolledBack,
};

export function exitCodeForOutcome(outcome: Outcome): ExitCodeValue {
  return outcomeTable[outcome];
}
