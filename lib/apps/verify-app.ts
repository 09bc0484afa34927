import type { Medium } from '../medium/medium.js';
import { ignoreProgress, type ProgressListener } from '../progress.js';
import { appBlobs, type AppBlob, type AppTree, type BlobKind } from './app-tree.js';
import { verifyBlob } from './blob-reader.js';

export interface VerifyAppOptions {
  /** Kinds left to the caller (e.g. `layer` and `config` when the image loader hashes them while streaming into Docker). */
  skip?: ReadonlySet<BlobKind>;
  onProgress?: ProgressListener;
}

export interface VerifiedApp {
  /** The blobs read and found intact, each once, with their sizes. */
  readonly blobs: readonly AppBlob[];
  readonly totalBytes: number;
}

/**
 * Streams every blob of the tree once through the verifier (digest and exact size). Throws the first
 * ContentVerificationError, which names the blob and its place in the chain.
 */
export async function verifyApp(medium: Medium, tree: AppTree, options: VerifyAppOptions = {}): Promise<VerifiedApp> {
  const onProgress = options.onProgress ?? ignoreProgress;
  const blobs = appBlobs(tree).filter((blob) => !options.skip?.has(blob.kind));
  const totalBytes = blobs.reduce((total, blob) => total + blob.descriptor.size, 0);
  const label = `verifying app ${tree.app.name}`;
  let done = 0;
  onProgress({ type: 'bytes', label, done, total: totalBytes });
  for (const blob of blobs) {
    await verifyBlob(medium, blob.descriptor, (bytes) => {
      done += bytes;
      onProgress({ type: 'bytes', label, done, total: totalBytes });
    });
  }
  return { blobs, totalBytes };
}
