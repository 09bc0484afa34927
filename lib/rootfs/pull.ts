import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pumpHashing } from '../bundle/hashing.js';
import { ContentVerificationError, OstreeCommandError } from '../errors.js';
import { commitObjectPath, mediumCommitObjectPath, OSTREE_REPO_DIRECTORY } from '../medium/layout.js';
import type { Medium } from '../medium/medium.js';
import { serveMediumDirectory } from './medium-http-server.js';
import { ostree } from './ostree-cli.js';

/** The temporary remote an HTTP pull goes through; a fixed name, so that a pull killed midway leaves no litter behind. */
const MEDIUM_REMOTE = 'fioup-offline-medium';

const COMMIT_HASH = /^[0-9a-f]{64}$/;

/** Whether the medium's `ostree_repo` holds the commit object (its content is checked when it is pulled). */
export async function mediumHasCommit(medium: Medium, commit: string): Promise<boolean> {
  if (!COMMIT_HASH.test(commit)) return false;
  return (await medium.stat(mediumCommitObjectPath(commit)))?.type === 'file';
}

/**
 * Pulls `commit` and every object it needs from the medium's `ostree_repo` into `repo`, checking each object's
 * checksum on the way (a medium is untrusted). A directory medium is read with `pull-local`; an archive through
 * a loopback HTTP server. ostree pulls are transactional: a pull that is killed is simply done again.
 */
export async function pullFromMedium(repo: string, medium: Medium, commit: string): Promise<void> {
  try {
    if (medium.localRoot !== undefined) {
      await ostree([`--repo=${repo}`, 'pull-local', '--untrusted', join(medium.localRoot, OSTREE_REPO_DIRECTORY), commit]);
    } else {
      await pullOverLoopback(repo, medium, commit);
    }
  } catch (error) {
    if (!(error instanceof OstreeCommandError)) throw error;
    throw new ContentVerificationError(`rootfs commit ${commit} cannot be pulled intact from the ${OSTREE_REPO_DIRECTORY} of ${medium.description}: ${error.stderr}`, { cause: error });
  }
  await verifyCommitObject(repo, commit);
}

async function pullOverLoopback(repo: string, medium: Medium, commit: string): Promise<void> {
  const server = await serveMediumDirectory(medium, OSTREE_REPO_DIRECTORY);
  try {
    // No GPG: the commit hash is verified instead, and it comes from signed TUF metadata.
    await ostree([`--repo=${repo}`, 'remote', 'add', '--force', '--no-gpg-verify', MEDIUM_REMOTE, server.url]);
    try {
      await ostree([`--repo=${repo}`, 'pull', MEDIUM_REMOTE, commit]);
    } finally {
      await ostree([`--repo=${repo}`, 'remote', 'delete', '--if-exists', MEDIUM_REMOTE]);
    }
  } finally {
    await server.close();
  }
}

/** For a dry run: the commit object on the medium hashes to the commit (its sha256 is its name); its size. */
export async function verifyMediumCommit(medium: Medium, commit: string): Promise<number> {
  const { sha256, size } = await pumpHashing(await medium.open(mediumCommitObjectPath(commit)));
  if (sha256 !== commit) throw new ContentVerificationError(`rootfs commit ${commit}: its commit object on ${medium.description} hashes to ${sha256}`);
  return size;
}

/**
 * Hashes the commit object now in `repo`: its sha256 is the commit hash. A mismatch means the repo holds a forged
 * object under that name; it is removed so that nothing deploys it, and the install fails.
 */
async function verifyCommitObject(repo: string, commit: string): Promise<void> {
  const path = join(repo, commitObjectPath(commit));
  const actual = (await pumpHashing(createReadStream(path))).sha256;
  if (actual !== commit) {
    await rm(path, { force: true });
    throw new ContentVerificationError(`rootfs commit ${commit} pulled from the medium hashes to ${actual}: removed, nothing deployed`);
  }
}
