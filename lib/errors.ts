/**
 * One error class per kind of failure. Commands throw these; `exit-codes.ts` is the only place that turns
 * them into process exit codes. Messages are written for the technician in front of the device: they name the
 * file, app or blob concerned and, where it helps, what to do next.
 */
export class FioupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line or option value. */
export class UsageError extends FioupError {}

/** The configuration cannot be read or is inconsistent. */
export class ConfigError extends FioupError {}

/** Another fioup-offline, aktualizr-lite or aklite-offline holds a lock this command needs. */
export class LockedError extends FioupError {}

// --- the device's own filesystems and engine (lib/fs/system-errors.ts turns the system's errors into these) ------

/**
 * A filesystem of the device refused a change the command had to make; the message names the path, the cause
 * and the fix. Each kind below has its own class.
 */
export class DeviceFilesystemError extends FioupError {}

/** The filesystem holding a path the command writes is mounted read-only (EROFS). */
export class ReadOnlyFilesystemError extends DeviceFilesystemError {}

/** A directory the command works in does not exist, or a part of its path is not a directory (ENOENT, ENOTDIR). */
export class MissingDirectoryError extends DeviceFilesystemError {}

/** The command may not write or read a path of the device (EACCES, EPERM). */
export class PermissionDeniedError extends DeviceFilesystemError {}

/** dockerd does not answer (its socket refuses the connection, is missing, or the connection broke off). */
export class EngineUnavailableError extends FioupError {}

/**
 * The rollback of a failed update could not finish because dockerd stopped answering: it stays pending, and the
 * next `run` completes it once dockerd answers again.
 */
export class RollbackPendingError extends EngineUnavailableError {}

/** A config or state path is not a regular file (a FIFO, a device, a directory) or is far larger than such a file is. */
export class NotARegularFileError extends FioupError {}

/**
 * The device state (`state.json`, aktualizr-lite's `sql.db`) does not read as what its writer writes. Never taken for
 * a fresh device: the message names the file and the way out (docs/device-guide.md, Troubleshooting).
 */
export class DeviceStateError extends FioupError {}

// --- medium and metadata -------------------------------------------------------------------------------

/** The medium (directory, archive, drive) cannot be found or holds no update. */
export class MediumNotFoundError extends FioupError {}

/** No `--src-dir`, and the mounted removable drives hold no bundle, or several: aklite-offline's missing `--src-dir`. */
export class MediumNotGivenError extends UsageError {}

/** A file on the medium is larger than what its reader accepts for it; refused before reading it. */
export class FileTooLargeError extends FioupError {
  constructor(file: string, size: number, limit: number) {
    super(`${file}: is ${size} bytes, more than the ${limit} allowed`);
  }
}

/** A path read from the medium (or from metadata on it) is unsafe: absolute, `..`, link, device... */
export class UnsafePathError extends FioupError {}

/** Required TUF metadata is missing from the medium or from the device. */
export class MetadataNotFoundError extends FioupError {}

/** Metadata that cannot be parsed or does not have the expected shape. */
export class InvalidMetadataError extends FioupError {}

/** Trust failure: signatures, thresholds, version rollback, hash or length mismatch in metadata, wrong bundle type. */
export class SecurityError extends FioupError {}
export class UnsignedMetadataError extends SecurityError {}
export class BadVersionError extends SecurityError {}
export class RollbackError extends BadVersionError {}
export class MetadataMismatchError extends SecurityError {}
/** bundle-targets.json is malformed, not signed by a threshold of the targets keys, or carries an invalid signature. */
export class BundleMetadataError extends SecurityError {}
/** The bundle is for another device type (ci/prod) or tag. */
export class BundleTypeMismatchError extends BundleMetadataError {}

/** Metadata whose expiry lies before the device's clock. The message carries both times. */
export class ExpiredMetadataError extends FioupError {}

// --- target selection ----------------------------------------------------------------------------------

/** No target in the bundle is for this device (hardware id, tag, bundle list). */
export class NoMatchingTargetError extends FioupError {}

/** The target named with `--target` is not in the trusted metadata, or cannot be installed from this medium. */
export class TargetNotFoundError extends FioupError {}

/** A target was found for this device but the medium lacks some of its content (apps, rootfs commit). */
export class ContentMissingError extends FioupError {}

/**
 * The medium holds the app but not its images for the platform asked for: the image index does not list that
 * platform, or lists it while its manifest is not on the medium (the factory's CI copies the device's platform
 * only). Content missing for that platform, not damage: the message names the platform.
 */
export class PlatformNotOfferedError extends ContentMissingError {}

/** The selected target is older than the current one and `--force` was not given. */
export class DowngradeRefusedError extends FioupError {}

// --- installation --------------------------------------------------------------------------------------

/** A blob or file read from the medium does not match the digest or size that points at it. */
export class ContentVerificationError extends FioupError {}

/** A blob the hash chain points at is not on the medium: damage like a corrupt one, unless the chain allows its absence. */
export class BlobNotFoundError extends ContentVerificationError {}

/** Not enough free space for the update (message gives needed and available bytes). */
export class InsufficientSpaceError extends FioupError {}

/**
 * A filesystem ran out of bytes or inodes while the command wrote to it (ENOSPC, EDQUOT, or Docker saying so):
 * out of space like the refusal before the update, with the filesystem's numbers.
 */
export class OutOfSpaceError extends InsufficientSpaceError {}

/** Docker refused to load an image. */
export class ImageLoadError extends FioupError {}

/** `docker compose` failed for an app, or its containers did not come up running (and healthy) in time. */
export class ComposeError extends FioupError {}

/** `install` was run while another installation waits for `run`. */
export class InstallationPendingError extends FioupError {}

/** `run` was called with nothing installed and pending. */
export class NothingPendingError extends FioupError {}

/** The update failed and the previous version could not be restored either. */
export class RollbackFailedError extends FioupError {}

/** A boot firmware update awaits its confirming reboot: no new rootfs is installed until then (aklite's InstallNeedsRebootForBootFw). */
export class BootFirmwareUpdatePendingError extends FioupError {}

/** The bootloader environment could not be read or set (`fw_setenv`, `fiovb_setenv`...): the device must not reboot yet. */
export class BootloaderError extends FioupError {}

/** The `ostree` command failed; the message carries the command line and ostree's stderr. */
export class OstreeCommandError extends FioupError {
  constructor(readonly args: readonly string[], readonly stderr: string, cause: unknown) {
    super(`ostree ${args.join(' ')} failed: ${stderr || (cause as Error).message}`, { cause });
  }
}
