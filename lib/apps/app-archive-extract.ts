import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDirectory, renameDurable } from '../fs/atomic.js';
import { withPath } from '../fs/system-errors.js';
import type { BlobSource } from '../oci/blob-source.js';
import { readAppArchive, type AppArchive } from './app-archive-reader.js';

/**
 * Extracts a verified app archive into `destination` (the compose project directory), replacing what was there.
 * Files are written into a fresh directory beside the destination and renamed into place only once every entry
 * and the archive's own digest have been checked (see `readAppArchive`); on any failure nothing is left behind.
 * Files get mode 0755 when archived with an execute bit, 0644 otherwise; owners are not restored.
 */
export async function extractAppArchive(blobs: BlobSource, archive: AppArchive, destination: string): Promise<void> {
  const parent = dirname(destination);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(destination)}.staging-`));
  try {
    await readAppArchive(blobs, archive, {
      directory: (path) => mkdir(join(staging, path), { recursive: true }).then(() => undefined),
      file: async (file, content) => {
        const target = join(staging, file.path);
        await mkdir(dirname(target), { recursive: true });
        await writeNewFile(target, file.mode & 0o111 ? 0o755 : 0o644, content);
      },
    });
    await replaceDirectory(staging, destination);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function writeNewFile(path: string, mode: number, content: AsyncIterable<Buffer>): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    for await (const chunk of content) {
      for (let offset = 0; offset < chunk.length;) offset += (await handle.write(chunk, offset)).bytesWritten;
    }
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    throw withPath(error, path);
  } finally {
    await handle.close();
  }
}

/** Puts `staging` at `destination`; an existing destination is moved aside first and removed after. */
async function replaceDirectory(staging: string, destination: string): Promise<void> {
  const previous = `${staging}.previous`;
  let hadPrevious = true;
  try {
    await rename(destination, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadPrevious = false;
  }
  try {
    await renameDurable(staging, destination);
  } catch (error) {
    if (hadPrevious) await rename(previous, destination);
    throw error;
  }
  if (hadPrevious) {
    await rm(previous, { recursive: true, force: true });
    await fsyncDirectory(dirname(destination));
  }
}
