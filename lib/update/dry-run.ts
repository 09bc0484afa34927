import type { DeviceEnvironment } from '../device/environment.js';
import type { Medium } from '../medium/medium.js';
import { deviceStateNeed } from './check-in.js';
import { assessFreeSpace, type FilesystemSpace, type SpaceNeed } from './free-space.js';
import { handlerFor } from './handlers/index.js';
import type { MediumInspection } from './inspect-medium.js';
import type { ContentCheck } from './payload.js';
import type { UpdatePlan } from './plan.js';
import { commonStepNames, runSteps } from './steps.js';

export interface DryRun {
  /** What the install would write on each filesystem, against the storage watermark. */
  readonly space: readonly FilesystemSpace[];
  /** With `verifyContent`: the blobs read and hashed. */
  readonly content: ContentCheck | undefined;
}

const VERIFY_CONTENT_STEP = 'verify content';

/**
 * `install`'s download phase without a write: each part of the plan verifies what it would install (the hash chains,
 * through the same handlers), says what it would write (assessed against the watermark), and with `verifyContent`
 * reads and hashes all of it through the same verifying streams `fetch` reads, loading nothing into Docker. A failure
 * is the error the install would end with (70, 8).
 */
export async function dryRunInstall(
  env: DeviceEnvironment, medium: Medium, plan: UpdatePlan, inspection: MediumInspection, options: { verifyContent: boolean },
): Promise<DryRun> {
  const parts = plan.parts.map((part) => handlerFor(part).install(part, { env, medium, plan }));
  const needs: SpaceNeed[] = [await deviceStateNeed(env, inspection)];
  const content = { blobs: 0, bytes: 0 };
  const { verify, space } = commonStepNames.install;
  await runSteps('check', [
    { name: verify, run: async () => { for (const part of parts) await part.verify(); } },
    { name: space, run: async () => { for (const part of parts) needs.push(...(await part.spaceNeeded())); } },
    ...(options.verifyContent ? [{
      name: VERIFY_CONTENT_STEP,
      run: async () => {
        for (const part of parts) {
          const checked = await part.verifyContent();
          content.blobs += checked.blobs;
          content.bytes += checked.bytes;
        }
      },
    }] : []),
  ], env.onProgress);
  return { space: assessFreeSpace(needs, env.config.storageWatermark), content: options.verifyContent ? content : undefined };
}
