import * as errors from './errors.js';

/**
 * aklite-offline's exit codes (docs/formats.md section 7; aktualizr-lite's include/aktualizr-lite/cli/cli.h and
 * apps/aklite-offline/cmds.cpp), in one place. Errors map by class; successful outcomes that still need the caller to
 * act map by name.
 */
export const ExitCode = {
  ok: 0,
  other: 1,
  /** run: the update is complete and a boot firmware update came with it: reboot once more to confirm it (OkNeedsRebootForBootFw). */
  doneBootFirmwareNeedsReboot: 5,
  /** aklite-offline's main.cpp exits EXIT_FAILURE on a bad command line, a missing `--src-dir` included. */
  usage: 1,
  /** check: nothing to install, and the medium's metadata is older than the device's (CheckinOkCached). */
  upToDateCached: 3,
  noMatchingTarget: 6,
  contentMissing: 8,
  /** install: apps staged, `run` starts them (InstallAppsNeedFinalization), with `[offline] apps_installed_exit_code = 10`. */
  appsNeedFinalization: 10,
  security: 11,
  expired: 12,
  metadataNotFound: 14,
  /** Also aklite-offline's CheckinInvalidBundleMetadata: any fault of bundle-targets.json but its expiry. */
  invalidMetadata: 15,
  updateAvailable: 16,
  appsNeedSync: 17,
  targetNotFound: 20,
  installationPending: 30,
  nothingPending: 40,
  insufficientSpace: 60,
  contentVerification: 70,
  imageLoad: 80,
  /** install: a boot firmware update awaits its confirming reboot; reboot, then install again (InstallNeedsRebootForBootFw). */
  bootFirmwareNeedsReboot: 90,
  rolledBack: 99,
  rebootRequired: 100,
  /** install: apps staged, `run` starts them; aklite-offline's older contract, kept by default (no dockerd restart is needed). */
  appsInstalled: 101,
  downgradeRefused: 102,
  rollbackFailed: 120,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Every error class of `errors.ts` and its code. An error is looked up by its class, then by each ancestor in
 * turn, so the order of the rows does not matter; an error of a class not listed here (a bug, a library's) is 1.
 */
export const errorExitCodes: ReadonlyMap<ErrorClass, ExitCodeValue> = new Map<ErrorClass, ExitCodeValue>([
  [errors.FioupError, ExitCode.other],
  [errors.UsageError, ExitCode.usage],
  [errors.ConfigError, ExitCode.other],
  [errors.LockedError, ExitCode.other],
  [errors.DeviceFilesystemError, ExitCode.other],
  [errors.ReadOnlyFilesystemError, ExitCode.other],
  [errors.MissingDirectoryError, ExitCode.other],
  [errors.PermissionDeniedError, ExitCode.other],
  [errors.EngineUnavailableError, ExitCode.other],
  [errors.RollbackPendingError, ExitCode.other],
  [errors.NotARegularFileError, ExitCode.other],
  [errors.DeviceStateError, ExitCode.other],
  [errors.MediumNotFoundError, ExitCode.metadataNotFound],
  [errors.MediumNotGivenError, ExitCode.usage],
  // A file over its reader's limit is malformed for that reader; readers of app content say so as content errors.
  [errors.FileTooLargeError, ExitCode.invalidMetadata],
  [errors.UnsafePathError, ExitCode.security],
  [errors.MetadataNotFoundError, ExitCode.metadataNotFound],
  [errors.InvalidMetadataError, ExitCode.invalidMetadata],
  [errors.SecurityError, ExitCode.security],
  [errors.UnsignedMetadataError, ExitCode.security],
  [errors.BadVersionError, ExitCode.security],
  [errors.RollbackError, ExitCode.security],
  [errors.MetadataMismatchError, ExitCode.security],
  [errors.BundleMetadataError, ExitCode.invalidMetadata],
  [errors.BundleTypeMismatchError, ExitCode.invalidMetadata],
  [errors.ExpiredMetadataError, ExitCode.expired],
  [errors.NoMatchingTargetError, ExitCode.noMatchingTarget],
  [errors.TargetNotFoundError, ExitCode.targetNotFound],
  [errors.ContentMissingError, ExitCode.contentMissing],
  [errors.PlatformNotOfferedError, ExitCode.contentMissing],
  [errors.DowngradeRefusedError, ExitCode.downgradeRefused],
  [errors.ContentVerificationError, ExitCode.contentVerification],
  [errors.BlobNotFoundError, ExitCode.contentVerification],
  [errors.InsufficientSpaceError, ExitCode.insufficientSpace],
  [errors.OutOfSpaceError, ExitCode.insufficientSpace],
  [errors.ImageLoadError, ExitCode.imageLoad],
  [errors.ComposeError, ExitCode.other],
  [errors.InstallationPendingError, ExitCode.installationPending],
  [errors.NothingPendingError, ExitCode.nothingPending],
  [errors.RollbackFailedError, ExitCode.rollbackFailed],
  [errors.OstreeCommandError, ExitCode.other],
  [errors.BootFirmwareUpdatePendingError, ExitCode.bootFirmwareNeedsReboot],
  [errors.BootloaderError, ExitCode.other],
]);

export function exitCodeForError(error: unknown): ExitCodeValue {
  if (typeof error !== 'object' || error === null) return ExitCode.other;
  for (let prototype = Object.getPrototypeOf(error); prototype !== null; prototype = Object.getPrototypeOf(prototype)) {
    const code = errorExitCodes.get(prototype.constructor);
    if (code !== undefined) return code;
  }
  return ExitCode.other;
}

/** Results of commands that succeeded but ask the caller for a next step, or report what they found. */
export type Outcome =
  | 'done'
  | 'done-boot-firmware-reboot'
  | 'up-to-date'
  | 'up-to-date-cached'
  | 'update-available'
  | 'apps-need-sync'
  | 'apps-installed'
  | 'reboot-required'
  | 'rolled-back';

const outcomeTable: Record<Outcome, ExitCodeValue> = {
  'done': ExitCode.ok,
  'done-boot-firmware-reboot': ExitCode.doneBootFirmwareNeedsReboot,
  'up-to-date': ExitCode.ok,
  'up-to-date-cached': ExitCode.upToDateCached,
  'update-available': ExitCode.updateAvailable,
  'apps-need-sync': ExitCode.appsNeedSync,
  'apps-installed': ExitCode.appsInstalled,
  'reboot-required': ExitCode.rebootRequired,
  'rolled-back': ExitCode.rolledBack,
};

export interface OutcomeCodeOptions {
  /** `[offline] apps_installed_exit_code`: 101 (default) or aklite-offline's current 10. */
  readonly appsInstalled?: typeof ExitCode.appsInstalled | typeof ExitCode.appsNeedFinalization;
}

export function exitCodeForOutcome(outcome: Outcome, options: OutcomeCodeOptions = {}): ExitCodeValue {
  if (outcome === 'apps-installed' && options.appsInstalled !== undefined) return options.appsInstalled;
  return outcomeTable[outcome];
}
