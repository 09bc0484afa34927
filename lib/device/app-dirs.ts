import { basename, dirname, join } from 'node:path';
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
}
