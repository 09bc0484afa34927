import { ExitCode, type ExitCodeValue } from '../exit-codes.js';

/** What an exit code tells the technician, and what to do about it when it is a failure. */
export interface ExitMeaning {
  readonly meaning: string;
  readonly fix?: string;
}

/**
 * Every exit code of `ExitCode` (the type makes a missing one a compile error), in the words of the device guide.
 * The reports, `auto`'s summary and the man page's EXIT STATUS read them from here.
 */
export const exitMeanings: Readonly<Record<ExitCodeValue, ExitMeaning>> = {
  [ExitCode.ok]: { meaning: 'success: the update is complete, or there was nothing newer to install' },
  // aklite-offline's usage errors are 1 as well.
  [ExitCode.other]: {
    meaning: 'other error, or a usage error',
    fix: "read the error message; check the command line against 'fioup-offline --help'; run again with --verbose for the details",
  },
  [ExitCode.doneBootFirmwareNeedsReboot]: {
    meaning: 'update complete; it brought a boot firmware update, which the next reboot confirms',
    fix: "reboot once more before the next update ('install' answers 90 until the boot firmware is confirmed)",
  },
  [ExitCode.upToDateCached]: { meaning: "nothing to install: the medium's metadata is older than the device's, whose stored metadata is valid" },
  [ExitCode.appsNeedFinalization]: { meaning: "apps installed: 'fioup-offline run' starts them (aklite-offline's code for it)" },
  [ExitCode.noMatchingTarget]: {
    meaning: 'no target on the medium for this device (hardware id, tag, bundle list)',
    fix: "bring a bundle made for this device's hardware id and tag ('fioup-offline check' lists what the medium offers)",
  },
  [ExitCode.contentMissing]: {
    meaning: 'the target is for this device but the medium lacks its apps or rootfs commit',
    fix: 'download the target again with fioctl, with its apps (no --tuf-only or --no-apps) and for this hardware id',
  },
  [ExitCode.security]: {
    meaning: 'security error: bad signature, too few signatures, version rollback, wrong bundle type or tag, unsafe path on the medium',
    fix: 'bring a bundle made for this device (ci or prod, its tag) from an untouched download; never edit a bundle by hand',
  },
  [ExitCode.expired]: {
    meaning: 'metadata expired (against the device clock)',
    fix: 'check the device clock (date -s sets it) or bring a freshly downloaded bundle',
  },
  [ExitCode.metadataNotFound]: {
    meaning: 'no update bundle, or no TUF metadata, on the medium',
    fix: "write a bundle onto the drive with 'fioup-offline bundle-create'",
  },
  [ExitCode.invalidMetadata]: {
    meaning: 'invalid metadata (malformed JSON, duplicate keys, wrong types, oversized file)',
    fix: "the bundle is damaged: run 'fioup-offline bundle verify' on the host and write it again",
  },
  [ExitCode.updateAvailable]: { meaning: 'a newer target is available on the medium' },
  [ExitCode.appsNeedSync]: { meaning: "the current target is the newest, but some of its apps do not run: 'install' restores them" },
  [ExitCode.targetNotFound]: { meaning: 'the target asked for is not among the trusted targets', fix: "pick a target that 'fioup-offline check' lists" },
  [ExitCode.bootFirmwareNeedsReboot]: {
    meaning: 'a boot firmware update awaits its confirming reboot: no new rootfs can be installed before it',
    fix: "reboot the device, then run 'fioup-offline install' again",
  },
  [ExitCode.installationPending]: {
    meaning: 'another installation waits for its run',
    fix: "run 'fioup-offline run' (after the reboot or restart it asked for) first",
  },
  [ExitCode.nothingPending]: { meaning: 'no installation is pending: nothing to run' },
  [ExitCode.insufficientSpace]: {
    meaning: 'not enough free space on the device',
    fix: 'free space on the filesystem the message names (old images, logs), or raise [pacman] storage_watermark',
  },
  [ExitCode.contentVerification]: {
    meaning: 'content verification failed: a blob, a bundle file or a rootfs commit does not match its digest or size',
    fix: "a file on the drive is damaged: run 'fioup-offline bundle verify' on the host and write the drive again",
  },
  [ExitCode.imageLoad]: { meaning: 'Docker refused to load an image', fix: "check dockerd's log (journalctl -u docker) and its free space" },
  [ExitCode.rolledBack]: {
    meaning: 'the update failed and was rolled back: the previous target runs again',
    fix: "the failing service's last log lines say why; publish a fixed target (this one is not installed again without --force)",
  },
  [ExitCode.rebootRequired]: { meaning: "reboot required: reboot the device, then 'fioup-offline run'" },
  [ExitCode.appsInstalled]: { meaning: "apps installed: 'fioup-offline run' starts them (no dockerd restart is needed)" },
  [ExitCode.downgradeRefused]: {
    meaning: 'refused: the target is older than the current one, or it failed before',
    fix: 'install it with --force if that is really wanted',
  },
  [ExitCode.rollbackFailed]: {
    meaning: 'the update failed and the previous target could not be restored either',
    fix: "the device needs attention: see 'fioup-offline status' and the apps' logs (docker compose logs)",
  },
};

/** The meaning of any exit status: -1 is a process killed by a signal. */
export function exitMeaning(code: number): ExitMeaning {
  return exitMeanings[code as ExitCodeValue] ?? { meaning: code < 0 ? 'killed by a signal' : `unknown exit status ${code}` };
}
