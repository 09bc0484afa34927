import { constants } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FioupError, NotARegularFileError } from '../errors.js';
import { explainSystemError, notADirectory } from './system-errors.js';

export interface ReadRegularFileOptions {
  /** What the file is, for messages: "config file", "device state". */
  readonly what: string;
  readonly maxBytes: number;
  /** The error for a file over `maxBytes` (default: a NotARegularFileError); metadata, say, is refused as metadata. */
  readonly tooLarge?: (size: number) => Error;
}

/**
 * Reads a file that must be a regular file of at most `maxBytes`: a FIFO would block the read for ever and a device
 * such as /dev/urandom never end, so the file is opened without blocking and checked on the open descriptor before
 * a byte is read. Undefined when it does not exist.
 */
export async function readRegularFile(path: string, options: ReadRegularFileOptions): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotARegularFileError(`${options.what} ${path} is ${describeKind(info)}, not a regular file`);
    if (info.size > options.maxBytes) {
      throw options.tooLarge?.(info.size) ?? new NotARegularFileError(`${options.what} ${path} is ${info.size} bytes, more than the ${options.maxBytes} such a file can be`);
    }
    const bytes = await handle.readFile();
    if (bytes.length > options.maxBytes) throw new NotARegularFileError(`${options.what} ${path} grew past ${options.maxBytes} bytes while it was read`);
    return bytes;
  } finally {
    await handle.close();
  }
}

function describeKind(info: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * `mkdir -p`, one component at a time. Node's recursive mkdir never returns for a path under /proc (the kernel answers
 * ENOENT for a parent that stat finds); here the first component that cannot be made ends it with the reason, and
 * a component that exists and is not a directory is refused, naming it.
 */
export async function makeDirectories(path: string, wanted = resolve(path)): Promise<void> {
  const absolute = resolve(path);
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (info?.isDirectory()) return;
  if (info) throw notADirectory(absolute, `cannot create ${wanted}`);
  const parent = dirname(absolute);
  if (parent === absolute) throw new FioupError(`cannot create ${wanted}`);
  await makeDirectories(parent, wanted);
  try {
    await mkdir(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(absolute)).isDirectory()) return;
    // ENOENT for a parent that exists: a pseudo filesystem such as /proc, where nothing can be made.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FioupError(`cannot create the directory ${absolute}: ${(error as Error).message}`);
    throw explainSystemError(error);
  }
}
