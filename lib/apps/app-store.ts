import { ContentMissingError, FioupError, PlatformNotOfferedError } from '../errors.js';
import { appUriPath, appVersionDirectory, type AppVersion } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import type { BlobSource } from '../oci/blob-source.js';
import type { AppUri } from '../targets/app-uri.js';
import { buildAppTree, type AppTree } from './app-tree.js';
import { MediumBlobSource } from './medium-blob-source.js';
import { describePlatform, type Platform } from './platform.js';

const stores = new WeakMap<Medium, AppStore>();

/**
 * The app store of a medium (`apps/` in fioctl's layout): which app versions it holds, and their blobs as a
 * verified blob source. An app version's directory only says that the app is there: every byte used comes from
 * the blobs and is checked.
 */
export class AppStore {
  readonly blobs: BlobSource;
  /**
   * Each tree is walked once (a tree holds digests only, and every blob read through it is checked again); a walk
   * that failed is walked again when asked again.
   */
  private readonly trees = new Map<string, Promise<AppTree>>();

  private constructor(private readonly medium: Medium) {
    this.blobs = new MediumBlobSource(medium);
  }

  /** The medium's one app store, so that what the selection walked the install does not walk again. */
  static of(medium: Medium): AppStore {
    let store = stores.get(medium);
    if (!store) stores.set(medium, (store = new AppStore(medium)));
    return store;
  }

  /** Whether the store holds the app version: its directory has a `uri` file. */
  async holds(app: AppVersion): Promise<boolean> {
    return (await this.medium.stat(appUriPath(app)))?.type === 'file';
  }

  /**
   * Whether the app version it holds has images for `platform`, as far as its chain tells. Damage is no answer
   * here (the install verifies the whole chain and reports it): only a platform the images lack is `false`.
   */
  async offersPlatform(app: AppUri, platform: Platform): Promise<boolean> {
    try {
      await this.readTree(app, platform);
      return true;
    } catch (error) {
      if (error instanceof PlatformNotOfferedError) return false;
      if (error instanceof FioupError) return true;
      throw error;
    }
  }

  /**
   * The verified tree of the app for `platform`. An app version the store does not hold is a ContentMissingError;
   * once it is there, any broken link is a ContentVerificationError naming the blob.
   */
  readTree(app: AppUri, platform: Platform): Promise<AppTree> {
    const key = `${app.uri} ${describePlatform(platform)}`;
    let tree = this.trees.get(key);
    if (!tree) {
      tree = this.walkTree(app, platform);
      this.trees.set(key, tree);
      tree.catch(() => this.trees.delete(key));
    }
    return tree;
  }

  private async walkTree(app: AppUri, platform: Platform): Promise<AppTree> {
    if (!(await this.holds(app))) throw new ContentMissingError(`app ${app.name} (${app.uri}) is not on ${this.medium.description} (no ${appVersionDirectory(app)})`);
    return buildAppTree(this.blobs, app, platform);
  }
}
