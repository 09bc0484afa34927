import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeDirectories, readRegularFile, type ReadRegularFileOptions } from './device-files.js';
import { withPath } from './system-errors.js';

/**
 * Writes a file so that a crash or power cut leaves either the old content or the new one, never a mix:
 * write a temporary file beside it, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, owner?: { readonly uid: number; readonly gid: number }): Promise<void> {
  const directory = dirname(path);
  await makeDirectories(directory);
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', mode);
  try {
    if (owner) {
      // Replacing another program's file: it keeps its owner and exact mode (the umask does not apply).
      await handle.chown(owner.uid, owner.gid);
      await handle.chmod(mode);
    }
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw withPath(error, path);
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await fsyncDirectory(directory);
}

/** The names `writeFileAtomic` gives its temporary files: `.<name>.<pid>.<8 hex>.tmp`. */
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes what writes of other processes killed between writing and renaming left in `directory` (their temporary
 * files); for directories whose writers hold a lock the caller holds too, so that none of them is still writing.
 */
export async function removeAbandonedTemporaries(directory: string): Promise<void> {
  const names = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const name of names) {
    const pid = TEMPORARY_NAME.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid) await rm(join(directory, name), { force: true });
  }
}

/**
 * The JSON value a file holds; undefined when it is missing, unreadable, not a regular file of bounded size or not
 * JSON (files that only inform).
 */
export async function readJsonLeniently(path: string, options: ReadRegularFileOptions): Promise<unknown> {
  const bytes = await readRegularFile(path, options).catch(() => undefined);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Makes a rename or a new entry in `directory` durable. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames and makes the change durable in both directories. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDirectory(dirname(to));
  if (dirname(from) !== dirname(to)) await fsyncDirectory(dirname(from));
}
