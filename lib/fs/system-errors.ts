import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  FioupError, MissingDirectoryError, OutOfSpaceError, PermissionDeniedError, ReadOnlyFilesystemError,
} from '../errors.js';
import { describeUsage, filesystemUsage, nearestExistingPath } from './filesystem-usage.js';

/**
 * The one place where the errors the operating system raises on the device's filesystems (errno codes) become the
 * typed errors of errors.ts, each as one line naming the path, the cause and the fix: out of space (bytes or
 * inodes, 60 like the space check's refusal), a read-only filesystem, a missing directory, a permission refused.
 * The CLI and the update history pass every error through `explainSystemError`; anything else is left as it is.
 */

type ErrnoError = NodeJS.ErrnoException & { dest?: string };

const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT']);
const READ_ONLY = new Set(['EROFS']);
const DENIED = new Set(['EACCES', 'EPERM']);
const MISSING = new Set(['ENOENT', 'ENOTDIR']);

/** The typed error for a system error of a kind above that names its path; any other error is returned unchanged. */
export function explainSystemError(error: unknown): unknown {
  if (error instanceof FioupError || !isErrno(error)) return error;
  const path = error.path;
  if (path === undefined) return error;
  const code = error.code!;
  const action = `${actionOf(error.syscall)} ${path}`;
  const options = { cause: error };
  if (OUT_OF_SPACE.has(code)) return outOfSpace(path, action, error, code);
  if (READ_ONLY.has(code)) return readOnly(path, action, error);
  if (DENIED.has(code)) return new PermissionDeniedError(`${action}: permission denied (${code}): run fioup-offline as root`, options);
  if (MISSING.has(code)) return error.syscall === 'mkdir' ? mkdirFailure(path, action, error) : missing(path, action, error);
  return error;
}

/**
 * Tags an error raised while working on `path` with it, for calls that do not say (writes through a file handle):
 * the message can then name the file.
 */
export function withPath<E>(error: E, path: string): E {
  if (isErrno(error) && error.path === undefined) error.path = path;
  return error;
}

/** Out of space on the filesystem of `path` (Docker's own ENOSPC, reported in its messages, included). */
export function outOfSpace(path: string, action: string, cause: unknown, code = 'ENOSPC'): OutOfSpaceError {
  const usage = usageFacts(path);
  const numbers = usage ? describeUsage(usage) : `the usage of the filesystem of ${path} cannot be read`;
  return new OutOfSpaceError(
    `${action}: no space left (${code}): ${numbers}; free space (or inodes: remove files) there, then run the command again`, { cause },
  );
}

function readOnly(path: string, action: string, cause: unknown): ReadOnlyFilesystemError {
  const mountPoint = usageFacts(path)?.mountPoint ?? dirname(path);
  return new ReadOnlyFilesystemError(
    `${action}: the filesystem mounted at ${mountPoint} is read-only (EROFS): remount it read-write ` +
      `(mount -o remount,rw ${mountPoint}) or configure a path on a writable filesystem, then run the command again`, { cause },
  );
}

function missing(path: string, action: string, cause: ErrnoError): MissingDirectoryError {
  const parent = dirname(path);
  const existing = safely(() => nearestExistingPath(parent));
  if (existing !== undefined && existing !== parent && !isDirectory(existing)) return notADirectory(existing, action, cause);
  const what = existing === parent ? `${path} does not exist` : `the directory ${parent} does not exist`;
  return new MissingDirectoryError(`${action}: ${what} (${cause.code}): create it (mkdir -p ${parent}) or correct the configured path`, { cause });
}

/**
 * Node's recursive mkdir answers ENOENT whatever stopped it (a read-only or full filesystem, a file in the way,
 * a permission): the deepest existing directory on the way tells which it was.
 */
function mkdirFailure(path: string, action: string, cause: ErrnoError): FioupError {
  const existing = safely(() => nearestExistingPath(path));
  if (existing === undefined) return missing(path, action, cause);
  if (!isDirectory(existing)) return notADirectory(existing, action, cause);
  try {
    accessSync(existing, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (READ_ONLY.has(code)) return readOnly(existing, action, cause);
    if (DENIED.has(code)) return new PermissionDeniedError(`${action}: permission denied (${code}) in ${existing}: run fioup-offline as root`, { cause });
  }
  const usage = usageFacts(existing);
  if (usage && (usage.bytesAvailable === 0 || (usage.inodesTotal > 0 && usage.inodesFree === 0))) return outOfSpace(existing, action, cause);
  return missing(path, action, cause);
}

/** `existing`, a file, stands where a directory of the configured paths should be. */
export function notADirectory(existing: string, action: string, cause?: unknown): MissingDirectoryError {
  return new MissingDirectoryError(`${action}: ${existing} is a file, not a directory (ENOTDIR): move it away or correct the configured path`, cause === undefined ? {} : { cause });
}

function usageFacts(path: string) {
  return safely(() => filesystemUsage(path));
}

function isDirectory(path: string): boolean {
  return safely(() => statSync(path).isDirectory()) ?? false;
}

function safely<T>(work: () => T): T | undefined {
  try {
    return work();
  } catch {
    return undefined;
  }
}

function actionOf(syscall: string | undefined): string {
  switch (syscall) {
    case 'open': return 'cannot open';
    case 'mkdir': case 'mkdtemp': return 'cannot create';
    case 'write': case 'fsync': case 'close': return 'cannot write';
    case 'rename': return 'cannot rename';
    case 'unlink': case 'rmdir': case 'rm': return 'cannot remove';
    case 'copyfile': return 'cannot copy to';
    default: return syscall ? `cannot ${syscall}` : 'cannot write';
  }
}

function isErrno(error: unknown): error is ErrnoError {
  return error instanceof Error && typeof (error as ErrnoError).code === 'string';
}
