import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleApps, writeAppStore, type WrittenApp } from '../../fixtures/apps/index.js';
import { MediumBlobSource } from '../../lib/apps/medium-blob-source.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { parseAppUri, type AppUri } from '../../lib/targets/app-uri.js';

export const FACTORY = 'acme';

/** A medium directory holding the web app (server + client images) in the app-store layout. */
export interface StoreFixture {
  root: string;
  medium: DirectoryMedium;
  blobs: MediumBlobSource;
  app: WrittenApp;
  uri: AppUri;
}

export async function writeWebStore(): Promise<StoreFixture> {
  const root = await mkdtemp(join(tmpdir(), 'apps-test-'));
  const [app] = await writeAppStore(join(root, 'apps'), [sampleApps.webPair(1)], { factory: FACTORY, seed: 'test/apps' });
  return { ...onMedium(root), app: app!, uri: parseAppUri(app!.uri, 'test') };
}

/** A private copy of a store, to damage without touching the shared one. */
export async function copyStore(store: StoreFixture): Promise<StoreFixture> {
  const root = await mkdtemp(join(tmpdir(), 'apps-test-copy-'));
  await cp(store.root, root, { recursive: true });
  const app = { ...store.app, dir: store.app.dir.replace(store.root, root) };
  return { ...onMedium(root), app, uri: store.uri };
}

function onMedium(root: string): Pick<StoreFixture, 'root' | 'medium' | 'blobs'> {
  const medium = new DirectoryMedium(root);
  return { root, medium, blobs: new MediumBlobSource(medium) };
}

export async function removeStore(store: StoreFixture): Promise<void> {
  await rm(store.root, { recursive: true, force: true });
}

/** Every path under `dir`, relative, sorted: to show that nothing appeared or vanished. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String).sort();
}
