import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { exitCodeForError, type ExitCodeValue } from '../../lib/exit-codes.js';
import { DirectoryMedium } from '../../lib/medium/directory-medium.js';
import { DeviceTrustStore } from '../../lib/tuf/device-trust.js';
import { verifyMedium, type VerifiedMedium } from '../../lib/tuf/verify-medium.js';
import { writeTufRepo, type TufDescription, type TufRepoSpec } from '../../fixtures/tuf/repo.js';
import { targetEntry, targetName, type TargetDefinition } from '../../fixtures/tuf/targets.js';
import { REFERENCE_TIME } from '../../fixtures/tuf/time.js';

export const referenceNow = new Date(REFERENCE_TIME);
export const device = { deviceType: 'ci', tags: ['main'] } as const;

export interface BuiltRepo {
  readonly root: string;
  readonly mediumDir: string;
  readonly description: TufDescription;
  readonly trustStore: DeviceTrustStore;
  readonly medium: DirectoryMedium;
}

/** A temporary directory per test file, removed by `cleanUp`. */
export class Workspace {
  private base: string | undefined;
  private count = 0;

  async dir(label: string): Promise<string> {
    this.base ??= await mkdtemp(join(tmpdir(), 'fioup-tuf-'));
    return join(this.base, `${this.count++}-${label}`);
  }

  async cleanUp(): Promise<void> {
    if (this.base) await rm(this.base, { recursive: true, force: true });
  }
}

export function definition(hardwareId: string, version: number, extra: Partial<TargetDefinition> = {}): TargetDefinition {
  return { hardwareIds: [hardwareId], version, tags: ['main'], apps: [], sha256: 'ab'.repeat(32), ...extra };
}

export function targetsOf(definitions: TargetDefinition[]): Record<string, object> {
  return Object.fromEntries(definitions.map((d) => [targetName(d), targetEntry('acme', d)]));
}

const defaultTargets = [definition('amd64-linux', 1), definition('amd64-linux', 2)];

/** Writes a repository with the factory: medium `<dir>/medium/tuf`, device `<dir>/device/{roots/ci,storage/tuf}`. */
export async function buildRepo(workspace: Workspace, label: string, spec: Partial<TufRepoSpec> = {}): Promise<BuiltRepo> {
  const root = await workspace.dir(label);
  const targets = spec.targets ?? targetsOf(defaultTargets);
  const description = await writeTufRepo(
    { medium: join(root, 'medium/tuf'), deviceRoots: join(root, 'device/roots/ci'), deviceStorage: join(root, 'device/storage/tuf') },
    {
      seed: 'acme',
      dialect: 'ota-tuf',
      keyType: 'ed25519',
      rootVersion: 4,
      rotations: { root: [3] },
      bundle: { type: 'ci', tag: 'main', targets: Object.keys(targets) },
      ...spec,
      targets,
    },
  );
  const mediumDir = join(root, 'medium');
  return {
    root,
    mediumDir,
    description,
    trustStore: new DeviceTrustStore({ rootsDir: dirname(join(root, 'device/roots/ci')), deviceType: 'ci', storageDir: join(root, 'device/storage') }),
    medium: new DirectoryMedium(mediumDir),
  };
}

export async function verifyRepo(repo: BuiltRepo, now = referenceNow): Promise<VerifiedMedium> {
  return verifyMedium(repo.medium, await repo.trustStore.load(), device, now);
}

/** Asserts that `promise` rejects with an error of `errorClass` whose exit code is `exitCode`; returns the error. */
export async function rejectsWith(
  promise: Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error,
  exitCode: ExitCodeValue,
  messagePattern?: RegExp,
): Promise<Error> {
  const error = await promise.then(
    () => assert.fail(`expected a ${errorClass.name}`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
  assert.equal(exitCodeForError(error), exitCode);
  if (messagePattern) assert.match(error.message, messagePattern);
  return error;
}
