import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UnsafePathError } from '../errors.js';
import { safePathComponent } from '../medium/safe-path.js';

/**
 * Where an app's compose project lives on the device. Staged and previous versions sit beside
 * `[pacman] compose_apps_root`, on the same filesystem, so that switching is a rename.
 */
export class AppDirectories {
  readonly stagingRoot: string;
  readonly previousRoot: string;

  constructor(readonly root: string) {
    this.stagingRoot = join(dirname(root), `.${basename(root)}.staging`);
    this.previousRoot = join(dirname(root), `.${basename(root)}.previous`);
  }

  current(app: string): string {
    return join(this.root, safePathComponent(app, 'app name'));
  }

  staged(app: string): string {
    return join(this.stagingRoot, safePathComponent(app, 'app name'));
  }

  previous(app: string): string {
    return join(this.previousRoot, safePathComponent(app, 'app name'));
  }

  /**
   * The apps whose project directory is in `compose_apps_root`, whoever put it there (this tool, aktualizr-lite, the
   * factory image), as composeappmanager.cc finds them: every directory. Names no app could have are left alone.
   */
  async installed(): Promise<string[]> {
    return this.projectsIn(this.root);
  }

  /** The app projects in `root` (the compose apps root, the staging area or the previous projects' directory). */
  async projectsIn(root: string): Promise<string[]> {
    const entries = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    return entries.filter((entry) => entry.isDirectory() && isSafeName(entry.name)).map((entry) => entry.name).sort();
  }
}

function isSafeName(name: string): boolean {
  try {
    safePathComponent(name, 'app name');
    return true;
  } catch (error) {
    if (error instanceof UnsafePathError) return false;
    throw error;
  }
}
