import { spawn } from 'node:child_process';

/** The steps aktualizr-lite reports to `[pacman] callback_program` (docs/formats.md section 8). */
export type CallbackStep =
  | 'check-for-update-pre'
  | 'check-for-update-post'
  | 'download-pre'
  | 'download-post'
  | 'install-pre'
  | 'install-post'
  | 'install-final-pre';

export interface CallbackContext {
  currentTargetPath: string;
  currentTargetName: string | undefined;
  installTargetName: string | undefined;
}

/**
 * Runs the callback program with aktualizr-lite's environment contract. Its exit status is reported to the
 * caller for logging and never changes the update's course, as in aktualizr-lite.
 */
export async function runCallback(program: string | undefined, step: CallbackStep, context: CallbackContext, result?: string): Promise<number | undefined> {
  if (!program) return undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MESSAGE: step,
    CURRENT_TARGET: context.currentTargetPath,
    CURRENT_TARGET_NAME: context.currentTargetName ?? '',
    INSTALL_TARGET_NAME: context.installTargetName ?? '',
  };
  if (result !== undefined) env.RESULT = result;
  return new Promise((resolve) => {
    const child = spawn(program, [], { env, stdio: 'ignore' });
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}
