import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeDirectories } from './device-files.js';

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
    throw error;
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
