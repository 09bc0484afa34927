import { join } from 'node:path';
import type { DeviceEnvironment } from '../device/environment.js';
import { removeAbandonedTemporaries } from '../fs/atomic.js';
import { explainSystemError } from '../fs/system-errors.js';
import { TUF_DIRECTORY } from '../medium/layout.js';
import { payloadHandlers } from './handlers/index.js';

/**
 * The garbage collector of crashed and abandoned commands, run at the end of every install and run with the
 * device lock held: the temporary files of state writes that never got renamed, then whatever each payload's
 * handler finds of its own (compose projects set aside or staged for updates that are over, images an install
 * loaded for an installation it never recorded), judged against the device state as it is now. It never fails the
 * command it ends: what it cannot remove now (dockerd down, say) is a warning, and the next command tries again.
 */
export async function removeLeftovers(env: DeviceEnvironment): Promise<void> {
  try {
    const { state } = env.files;
    // The device's metadata (tuf/, as device-trust.ts keeps it), current-target, and fioup-offline's own files.
    for (const directory of [state.directory, state.storagePath, join(state.storagePath, TUF_DIRECTORY)]) await removeAbandonedTemporaries(directory);
    const current = await state.load();
    for (const handler of payloadHandlers) await handler.removeLeftovers?.(env, current);
  } catch (error) {
    env.onProgress({ type: 'warning', message: `what earlier updates left could not all be removed: ${(explainSystemError(error) as Error).message}` });
  }
}
